"""Staff's payment tools in the admin: webhook events with a retry action, the refund page
of an order (bounded), capturing authorized payments."""
from __future__ import annotations

import json

import pytest
import stripe
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from checkout import webhooks as checkout_webhooks
from orders.models import Order
from payments.models import Refund, WebhookEvent


@pytest.fixture
def staff(db) -> Client:
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-12345678")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def desk(make_variant):
    return make_variant("DESK-1", price="300.00", on_hand=3)


@pytest.fixture
def order(api, stripe_emulator, ready_cart, desk) -> Order:
    cart = ready_cart({desk: 1})
    response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()})
    assert response.status_code == 200
    return Order.objects.get(cart=cart)


def refunded_at_stripe(order: Order) -> int:
    intent = stripe.PaymentIntent.retrieve(order.payments.get().stripe_payment_intent_id)
    return sum(int(r.amount) for r in stripe.Refund.list(charge=intent.latest_charge.id).data)


def test_webhook_event_pages_render_and_retry_handles_a_failed_event(staff, stripe_emulator, api, ready_cart, desk, monkeypatch):
    cart = ready_cart({desk: 1})
    intent_id = api.post(f"/api/v1/carts/{cart.pk}/payment/", {}).json()["payment_intent_id"]
    stripe_emulator.confirm_directly(intent_id)
    (event,) = stripe_emulator.events("payment_intent.succeeded")
    body = json.dumps(event).encode()
    monkeypatch.setattr(checkout_webhooks, "complete_checkout", lambda **kw: (_ for _ in ()).throw(RuntimeError("boom")))
    assert Client().post("/api/v1/webhooks/stripe/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=stripe_emulator.sign(body)).status_code == 500
    monkeypatch.undo()
    stored = WebhookEvent.objects.get()

    listing = staff.get(reverse("admin:payments_webhookevent_changelist"))
    detail = staff.get(reverse("admin:payments_webhookevent_change", args=[stored.pk]))
    retried = staff.post(
        reverse("admin:payments_webhookevent_changelist"), {"action": "retry", "_selected_action": [stored.pk]}, follow=True
    )

    assert listing.status_code == 200 and event["id"] in listing.content.decode()
    assert detail.status_code == 200 and "RuntimeError: boom" in detail.content.decode()
    assert "Handled 1, failed again 0" in retried.content.decode()
    stored.refresh_from_db()
    assert (stored.outcome, stored.attempts) == ("processed", 2)
    assert Order.objects.filter(cart=cart).count() == 1


def test_refund_page_refunds_part_then_refuses_more_than_is_left(staff, order):
    url = reverse("admin:orders_order_refund", args=[order.pk])

    page = staff.get(url)
    partial = staff.post(url, {"amount": "120.00", "reason": "requested_by_customer", "note": "scratched"}, follow=True)
    too_much = staff.post(url, {"amount": "180.01", "reason": "requested_by_customer"})

    assert page.status_code == 200 and "$300.00" in page.content.decode()
    assert "Refunded $120.00" in partial.content.decode()
    assert too_much.status_code == 200 and "At most $180.00 can still be refunded." in too_much.content.decode()
    assert list(Refund.objects.values_list("amount", "status", "note")) == [(12000, "succeeded", "scratched")]
    assert refunded_at_stripe(order) == 12000
    order.refresh_from_db()
    assert order.payment_status == "partially_refunded" and str(order.refunded.amount) == "120.000"


def test_refund_page_with_an_empty_amount_refunds_the_rest(staff, order):
    url = reverse("admin:orders_order_refund", args=[order.pk])
    staff.post(url, {"amount": "100", "reason": "requested_by_customer"})

    staff.post(url, {"amount": "", "reason": "requested_by_customer"})

    assert refunded_at_stripe(order) == 30000
    order.refresh_from_db()
    assert (order.payment_status, order.status) == ("refunded", "refunded")


def test_refund_page_needs_the_refund_permission(order, db):
    clerk = get_user_model().objects.create_user("clerk", password="pw-12345678", is_staff=True)
    client = Client()
    client.force_login(clerk)

    response = client.post(reverse("admin:orders_order_refund", args=[order.pk]), {"amount": "1", "reason": "other"})

    assert response.status_code == 403 and not Refund.objects.exists()


def test_order_page_shows_its_payment(staff, order):
    response = staff.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert response.status_code == 200
    assert order.payments.get().stripe_payment_intent_id in response.content.decode()


def test_capture_action_captures_authorized_payments(staff, stripe_emulator, api, ready_cart, desk, settings):
    settings.STRIPE_CAPTURE_METHOD = "manual"
    cart = ready_cart({desk: 1})
    api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()})
    order = Order.objects.get(cart=cart)

    response = staff.post(
        reverse("admin:orders_order_changelist"), {"action": "capture_authorized_payments", "_selected_action": [order.pk]}, follow=True
    )

    assert "Captured 1 payment(s)." in response.content.decode()
    order.refresh_from_db()
    assert order.payment_status == "paid"
    assert stripe.PaymentIntent.retrieve(order.payments.get().stripe_payment_intent_id).status == "succeeded"
