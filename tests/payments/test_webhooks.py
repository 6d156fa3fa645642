"""POST /api/v1/webhooks/stripe/: signature on the raw body, each event stored once,
handlers idempotent, a failing handler answers 5xx and a later delivery succeeds."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
import stripe
from django.core import mail
from django.test import Client

from cart.models import Cart
from inventory.models import Stock, StockMovement
from checkout import webhooks as checkout_webhooks
from orders.models import Order
from payments import webhooks
from payments.models import Payment, WebhookEvent
from tests.support.api_helpers import assert_error
from tests.support.stripe_fixtures import CARD_DECLINED
from checkout import completion as checkout_completion

URL = "/api/v1/webhooks/stripe/"
pytestmark = pytest.mark.django_db


def deliver(client: Client, emulator, body: bytes, *, signature: str | None = None):
    return client.post(
        URL, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature or emulator.sign(body)
    )


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)  # Stripe has no CSRF token: the view must not need one


@pytest.fixture
def shirt(make_variant):
    return make_variant("SHIRT-L", price="20.00", on_hand=5, size="L")


@pytest.fixture
def paid_elsewhere(api, stripe_emulator, ready_cart, shirt):
    """A cart whose intent was confirmed at Stripe by the browser; the shop has not heard."""
    cart = ready_cart({shirt: 2})
    intent_id = api.post(f"/api/v1/carts/{cart.pk}/payment/", {}).json()["payment_intent_id"]
    stripe_emulator.confirm_directly(intent_id)
    (event,) = stripe_emulator.events("payment_intent.succeeded")
    return cart, intent_id, event


def test_succeeded_event_completes_the_checkout(client, stripe_emulator, paid_elsewhere, shirt, django_capture_on_commit_callbacks, mailoutbox):
    cart, intent_id, event = paid_elsewhere

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, stripe_emulator, json.dumps(event).encode())

    assert response.status_code == 200, response.content
    order = Order.objects.get(cart=cart)
    assert order.total.amount == Decimal("40.00")
    assert Stock.objects.get(variant=shirt).on_hand == 3
    assert StockMovement.objects.get(reason="sale").order_id == order.pk
    stored = WebhookEvent.objects.get(stripe_event_id=event["id"])
    assert (stored.type, stored.outcome, stored.attempts) == ("payment_intent.succeeded", "processed", 1)
    assert stored.processed_at is not None and stored.payload["id"] == event["id"]
    assert stored.object_id == intent_id
    assert len(mailoutbox) == 1


def test_repeated_delivery_is_stored_once_and_makes_one_order(client, stripe_emulator, paid_elsewhere, django_capture_on_commit_callbacks, mailoutbox):
    cart, _, event = paid_elsewhere
    body = json.dumps(event).encode()

    with django_capture_on_commit_callbacks(execute=True):
        responses = [deliver(client, stripe_emulator, body) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    stored = WebhookEvent.objects.get()
    assert (stored.deliveries, stored.attempts) == (3, 1)
    assert Order.objects.filter(cart=cart).count() == 1
    assert StockMovement.objects.filter(reason="sale").count() == 1
    assert len(mailoutbox) == 1


@pytest.mark.parametrize(
    "signature",
    ["t=1,v1=deadbeef", "", "garbage", "wrong-secret"],
)
def test_bad_signature_is_400_and_changes_nothing(client, stripe_emulator, paid_elsewhere, signature):
    cart, _, event = paid_elsewhere
    body = json.dumps(event).encode()
    if signature == "wrong-secret":
        signature = stripe_emulator.sign(body, secret="whsec_not_ours")

    response = client.post(URL, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature) if signature else client.post(URL, body, content_type="application/json")

    error = assert_error(response, 400, "invalid")
    assert list(error["details"]) == ["signature"] and error["details"]["signature"][0]
    assert not WebhookEvent.objects.exists()
    assert not Order.objects.exists()
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.CHECKOUT


@pytest.mark.parametrize("method", ["get", "put", "delete", "options"])
def test_other_methods_than_post_are_405_in_the_error_shape(client, stripe_emulator, method):
    response = getattr(client, method)(URL)

    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"
    assert not WebhookEvent.objects.exists()


def test_a_signed_body_changed_in_transit_is_400(client, stripe_emulator, paid_elsewhere):
    _, _, event = paid_elsewhere
    body = json.dumps(event).encode()
    signature = stripe_emulator.sign(body)

    response = client.post(URL, body.replace(b'"succeeded"', b'"succeeded" '), content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)

    assert response.status_code == 400 and not WebhookEvent.objects.exists()


def test_an_old_signature_is_400(client, stripe_emulator, paid_elsewhere):
    _, _, event = paid_elsewhere
    body = json.dumps(event).encode()

    response = deliver(client, stripe_emulator, body, signature=stripe_emulator.sign(body, timestamp=1_600_000_000))

    assert response.status_code == 400 and not WebhookEvent.objects.exists()


def test_failing_handler_is_500_with_the_error_stored_and_a_retry_succeeds(
    client, stripe_emulator, paid_elsewhere, monkeypatch, django_capture_on_commit_callbacks, mailoutbox
):
    cart, _, event = paid_elsewhere
    body = json.dumps(event).encode()
    real = checkout_completion.complete_checkout

    def broken(**kwargs):
        real(**kwargs)  # its writes, and the email it queued, must go with the failure
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(checkout_webhooks, "complete_checkout", broken)
    with django_capture_on_commit_callbacks(execute=True) as failed_callbacks:
        failed = deliver(client, stripe_emulator, body)

    assert failed.status_code == 500
    stored = WebhookEvent.objects.get()
    assert (stored.outcome, stored.attempts, stored.processed_at) == ("failed", 1, None)
    assert "RuntimeError: database hiccup" in stored.error
    assert not Order.objects.exists() and Cart.objects.get(pk=cart.pk).status == Cart.Status.CHECKOUT
    assert not StockMovement.objects.filter(reason="sale").exists()
    assert failed_callbacks == [] and mailoutbox == []  # no confirmation of an order that was rolled back

    monkeypatch.setattr(checkout_webhooks, "complete_checkout", real)
    with django_capture_on_commit_callbacks(execute=True):
        retried = deliver(client, stripe_emulator, body)

    assert retried.status_code == 200
    stored.refresh_from_db()
    assert (stored.outcome, stored.attempts, stored.error) == ("processed", 2, "")
    order = Order.objects.get(cart=cart)
    assert [m.to for m in mailoutbox] == [["ada@example.com"]] and order.number in mailoutbox[0].subject


def test_admin_retry_processes_a_failed_event(client, stripe_emulator, paid_elsewhere, monkeypatch):
    cart, _, event = paid_elsewhere
    monkeypatch.setattr(checkout_webhooks, "complete_checkout", lambda **kw: (_ for _ in ()).throw(RuntimeError("down")))
    deliver(client, stripe_emulator, json.dumps(event).encode())
    monkeypatch.undo()

    retried = webhooks.process_event(WebhookEvent.objects.get().pk)

    assert retried.outcome == "processed" and retried.attempts == 2
    assert Order.objects.filter(cart=cart).count() == 1


def test_payment_failed_event_keeps_the_cart_in_checkout(client, stripe_emulator, api, ready_cart, shirt):
    cart = ready_cart({shirt: 1})
    intent_id = api.post(f"/api/v1/carts/{cart.pk}/payment/", {}).json()["payment_intent_id"]
    pm = stripe_emulator.payment_method(CARD_DECLINED)
    stripe.PaymentIntent.modify(intent_id, payment_method=pm)
    with pytest.raises(stripe.CardError):
        stripe.PaymentIntent.confirm(intent_id)
    (event,) = stripe_emulator.events("payment_intent.payment_failed")

    response = deliver(client, stripe_emulator, json.dumps(event).encode())

    assert response.status_code == 200
    assert Payment.objects.get(cart=cart).error_code == "card_declined"
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKOUT and cart.reservation_expires_at is not None
    assert WebhookEvent.objects.get().outcome == "processed"


def test_unknown_event_types_are_stored_and_ignored(client, stripe_emulator):
    body = stripe_emulator.event("customer.created", {"id": "cus_123", "object": "customer"})

    response = deliver(client, stripe_emulator, body)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert (stored.type, stored.outcome, stored.object_id) == ("customer.created", "ignored", "cus_123")


def test_succeeded_event_for_a_cart_of_another_shop_is_ignored(client, stripe_emulator):
    intent = {"id": "pi_other", "object": "payment_intent", "amount": 500, "currency": "usd", "status": "succeeded", "metadata": {}}

    response = deliver(client, stripe_emulator, stripe_emulator.event("payment_intent.succeeded", intent))

    assert response.status_code == 200 and WebhookEvent.objects.get().outcome == "ignored"


# --- refunds and disputes ----------------------------------------------------------


@pytest.fixture
def paid_order(api, stripe_emulator, ready_cart, shirt):
    cart = ready_cart({shirt: 2})
    body = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()}).json()
    return Order.objects.get(cart=cart), body["payment_intent_id"]


def charge_event(stripe_emulator, intent_id: str, amount_refunded: int) -> bytes:
    intent = stripe.PaymentIntent.retrieve(intent_id)
    charge = {
        "id": intent.latest_charge.id,
        "object": "charge",
        "amount": 4000,
        "amount_refunded": amount_refunded,
        "currency": "usd",
        "payment_intent": intent_id,
        "refunded": amount_refunded >= 4000,
    }
    return stripe_emulator.event("charge.refunded", charge)


def test_partial_then_full_refund_events_update_the_order(client, stripe_emulator, paid_order):
    order, intent_id = paid_order

    deliver(client, stripe_emulator, charge_event(stripe_emulator, intent_id, 1500))
    order.refresh_from_db()
    assert (order.refunded.amount, order.payment_status, order.status) == (Decimal("15.00"), "partially_refunded", "paid")

    deliver(client, stripe_emulator, charge_event(stripe_emulator, intent_id, 4000))
    order.refresh_from_db()
    assert (order.refunded.amount, order.payment_status, order.status) == (Decimal("40.00"), "refunded", "refunded")


def test_a_stale_refund_event_never_lowers_the_refunded_amount(client, stripe_emulator, paid_order):
    order, intent_id = paid_order
    newer, older = charge_event(stripe_emulator, intent_id, 2500), charge_event(stripe_emulator, intent_id, 1000)

    deliver(client, stripe_emulator, newer)
    deliver(client, stripe_emulator, older)

    order.refresh_from_db()
    assert (order.refunded.amount, order.payment_status) == (Decimal("25.00"), "partially_refunded")


def test_dispute_flags_the_order_for_staff(client, stripe_emulator, paid_order, django_capture_on_commit_callbacks, settings):
    settings.STAFF_ALERT_EMAILS = ["staff@example.com"]
    order, intent_id = paid_order
    dispute = {"id": "dp_1", "object": "dispute", "amount": 4000, "currency": "usd", "payment_intent": intent_id, "reason": "fraudulent", "charge": "ch_x"}

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, stripe_emulator, stripe_emulator.event("charge.dispute.created", dispute))

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "needs_attention" and "Dispute dp_1 opened (fraudulent)" in order.staff_note
    assert Payment.objects.get(order=order).needs_attention
    assert [m.to for m in mail.outbox] == [["staff@example.com"]]


def test_cancelled_authorization_flags_its_order(client, stripe_emulator, api, ready_cart, shirt, settings):
    settings.STRIPE_CAPTURE_METHOD = "manual"
    cart = ready_cart({shirt: 1})
    intent_id = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()}).json()["payment_intent_id"]
    cancelled = stripe.PaymentIntent.cancel(intent_id).to_dict()

    response = deliver(client, stripe_emulator, stripe_emulator.event("payment_intent.canceled", cancelled))

    assert response.status_code == 200
    order = Order.objects.get(cart=cart)
    assert order.status == "needs_attention" and "lapsed before capture" in order.staff_note
    assert Payment.objects.get(cart=cart).status == "canceled"
