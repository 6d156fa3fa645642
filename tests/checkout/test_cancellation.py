"""Cancelling a paid order (issue: the order's life after payment): by its customer while
it is not yet being prepared (API and order page), by staff any time before shipping
(admin). The money goes back at Stripe, the units back on hand through the ledger
(reason `cancel`), the order becomes `cancelled` with an event, the customer is emailed;
a refusal changes nothing; two cancellations at once give back once."""
from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest
import stripe
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client
from django.urls import reverse
from moneyed import Money

from cart.models import Cart
from checkout import cancellation
from inventory import services as inventory_services
from inventory.models import StockMovement
from inventory.selectors import ledger_balance
from orders import services as order_services
from orders.models import Order, OrderEvent
from payments.models import Refund
from tests.support.api_helpers import assert_error
from tests.support.race import Crew, assert_stock_exact




def buy(api, emulator, ready_cart, variant, quantity=2, user=None) -> Order:
    cart = ready_cart({variant: quantity})
    if user is not None:
        Cart.objects.filter(pk=cart.pk).update(user=user)
    response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": emulator.payment_method()})
    assert response.status_code == 200, response.content
    return Order.objects.get(cart=cart)


def refunded_at_stripe(order: Order) -> int:
    intent = stripe.PaymentIntent.retrieve(order.payments.get().stripe_payment_intent_id)
    return sum(int(r.amount) for r in stripe.Refund.list(charge=intent.latest_charge.id).data)


def test_the_guest_cancels_through_the_api_and_gets_stock_money_and_an_email_back(
    api, stripe_emulator, ready_cart, lamp, django_capture_on_commit_callbacks
):
    order = buy(api, stripe_emulator, ready_cart, lamp)
    assert_stock_exact(lamp.pk, on_hand=3, reserved=0)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/orders/{order.number}/cancel/?token={order.access_token}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "cancelled" and [e["status"] for e in body["events"]] == ["paid", "cancelled"]
    assert_stock_exact(lamp.pk, on_hand=5, reserved=0)
    assert ledger_balance(lamp.pk) == 5
    returned = StockMovement.objects.get(reason=StockMovement.Reason.CANCEL)
    assert (returned.delta, returned.order_id, returned.balance_after) == (2, order.pk, 5)
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.refunded) == ("cancelled", "refunded", Money(Decimal("80.00"), "USD"))
    assert refunded_at_stripe(order) == 8000
    refund = Refund.objects.get()
    assert (refund.reason, refund.status, refund.amount) == ("cancelled", "succeeded", 8000)
    assert [m.subject for m in mail.outbox] == [f"Order {order.number} is cancelled"]
    assert "We are refunding $80.00 to your card" in mail.outbox[0].body
    event = order.events.get(to_status="cancelled")
    assert (event.from_status, event.by_customer, event.actor_id) == ("paid", True, None)
    assert not inventory_services.check_stock().found  # on hand, reserved and the ledger agree


def test_an_order_being_prepared_cannot_be_cancelled_by_its_customer_and_nothing_changes(
    api, stripe_emulator, ready_cart, lamp
):
    order = buy(api, stripe_emulator, ready_cart, lamp)
    order_services.change_status(order_id=order.pk, to=Order.Status.PROCESSING)
    movements = StockMovement.objects.count()

    error = assert_error(api.post(f"/api/v1/orders/{order.number}/cancel/?token={order.access_token}"), 409, "order_not_cancellable")

    assert error["details"] == {"reason": "processing"}
    assert "being prepared for shipping" in error["message"] and "contact us" in error["message"]
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("processing", "paid")
    assert StockMovement.objects.count() == movements and not Refund.objects.exists()
    assert_stock_exact(lamp.pk, on_hand=3, reserved=0)


@pytest.mark.parametrize("who", ["stranger", "bad_token", "other_customer"])
def test_someone_elses_order_is_404_for_the_api_and_the_page(api, stripe_emulator, ready_cart, lamp, who):
    owner = get_user_model().objects.create_user("owner", "owner@example.com", "pw-owner-1")
    order = buy(api, stripe_emulator, ready_cart, lamp, user=owner)
    client = Client()
    token = ""
    if who == "bad_token":
        token = order.access_token[:-2] + "xx"
    if who == "other_customer":
        client.force_login(get_user_model().objects.create_user("other", "other@example.com", "pw-other-1"))
        api.force_login(get_user_model().objects.get(username="other"))

    api_response = api.post(f"/api/v1/orders/{order.number}/cancel/" + (f"?token={token}" if token else ""))
    page_response = client.post(reverse("checkout:cancel_order", args=[order.number]), {"token": token} if token else {})

    assert_error(api_response, 404, "not_found")
    assert page_response.status_code == 404
    assert Order.objects.get(pk=order.pk).status == "paid" and not Refund.objects.exists()


def test_the_signed_in_customer_cancels_from_the_order_page(api, stripe_emulator, ready_cart, lamp):
    owner = get_user_model().objects.create_user("owner", "owner@example.com", "pw-owner-1")
    order = buy(api, stripe_emulator, ready_cart, lamp, user=owner)
    client = Client()
    client.force_login(owner)
    page = client.get(reverse("orders:detail", args=[order.number]))
    assert b"Cancel this order" in page.content and b"Order placed and paid" in page.content

    response = client.post(reverse("checkout:cancel_order", args=[order.number]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("orders:detail", args=[order.number])
    assert b"is cancelled" in response.content and b"Cancel this order" not in response.content
    assert b"Order cancelled; the payment is being returned to your card" in response.content
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert_stock_exact(lamp.pk, on_hand=5, reserved=0)


@pytest.mark.django_db(transaction=True)
def test_two_cancellations_at_once_give_the_money_and_the_stock_back_once(api, stripe_emulator, ready_cart, lamp):
    order = buy(api, stripe_emulator, ready_cart, lamp)

    with Crew(2) as crew:
        outcomes = crew.run([partial(cancellation.cancel_order, order_id=order.pk, by_customer=True)] * 2)

    assert sorted(type(o.error).__name__ for o in outcomes) == ["NoneType", "OrderNotCancellable"]
    assert_stock_exact(lamp.pk, on_hand=5, reserved=0)
    assert StockMovement.objects.filter(reason=StockMovement.Reason.CANCEL).count() == 1
    assert Refund.objects.count() == 1 and refunded_at_stripe(order) == 8000
    assert list(OrderEvent.objects.filter(order=order).values_list("to_status", flat=True)) == ["paid", "cancelled"]


@pytest.mark.django_db(transaction=True)
def test_staff_moving_an_order_on_while_the_customer_cancels_cannot_both_win(api, stripe_emulator, ready_cart, lamp):
    order = buy(api, stripe_emulator, ready_cart, lamp)

    with Crew(2) as crew:
        outcomes = crew.run([
            partial(cancellation.cancel_order, order_id=order.pk, by_customer=True),
            partial(order_services.change_status, order_id=order.pk, to=Order.Status.PROCESSING),
        ])

    order.refresh_from_db()
    won = [o.error is None for o in outcomes]
    assert won in ([True, False], [False, True])
    if won[0]:  # cancelled first: it is not prepared
        assert order.status == "cancelled" and Refund.objects.count() == 1
        assert_stock_exact(lamp.pk, on_hand=5, reserved=0)
    else:  # prepared first: the customer can no longer cancel, nothing came back
        assert order.status == "processing" and not Refund.objects.exists()
        assert_stock_exact(lamp.pk, on_hand=3, reserved=0)
    assert OrderEvent.objects.filter(order=order).count() == 2


def test_staff_cancel_a_prepared_order_from_the_admin_and_view_only_staff_cannot(
    api, stripe_emulator, ready_cart, lamp, django_capture_on_commit_callbacks
):
    order = buy(api, stripe_emulator, ready_cart, lamp)
    order_services.change_status(order_id=order.pk, to=Order.Status.PROCESSING)
    User = get_user_model()
    viewer = User.objects.create_user("viewer", "viewer@example.com", "pw-viewer-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    manager = User.objects.create_user("manager", "manager@example.com", "pw-manager-1", is_staff=True)
    manager.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order"]))
    changelist = reverse("admin:orders_order_changelist")
    action = {"action": "cancel_orders", "_selected_action": [order.pk]}

    as_viewer = Client()
    as_viewer.force_login(viewer)
    assert b"cancel_orders" not in as_viewer.get(changelist).content
    as_viewer.post(changelist, action)
    assert Order.objects.get(pk=order.pk).status == "processing"

    as_manager = Client()
    as_manager.force_login(manager)
    assert b"cancel_orders" in as_manager.get(changelist).content
    with django_capture_on_commit_callbacks(execute=True):
        response = as_manager.post(changelist, action, follow=True)

    assert b"Cancelled, refunds sent and stock put back" in response.content
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("cancelled", "refunded")
    event = order.events.get(to_status="cancelled")
    assert (event.from_status, event.actor_id, event.by_customer) == ("processing", manager.pk, False)
    assert_stock_exact(lamp.pk, on_hand=5, reserved=0)
    assert refunded_at_stripe(order) == 8000


def test_a_cancelled_order_is_not_cancelled_twice_and_its_refusal_says_why(api, stripe_emulator, ready_cart, lamp):
    order = buy(api, stripe_emulator, ready_cart, lamp)
    cancellation.cancel_order(order_id=order.pk, by_customer=False)

    error = assert_error(api.post(f"/api/v1/orders/{order.number}/cancel/?token={order.access_token}"), 409, "order_not_cancellable")

    assert error["message"] == f"Order {order.number} is cancelled, so it can no longer be cancelled."
    assert StockMovement.objects.filter(reason=StockMovement.Reason.CANCEL).count() == 1 and Refund.objects.count() == 1


def test_staff_cancel_from_the_order_page_button_with_a_reason(api, stripe_emulator, ready_cart, lamp, admin_client, admin_user):
    order = buy(api, stripe_emulator, ready_cart, lamp)
    change = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    url = reverse("admin:orders_order_cancel", args=[order.pk])
    assert url.encode() in change.content
    assert b"Yes, cancel the order" in admin_client.get(url).content

    response = admin_client.post(url, {"note": "customer phoned"})

    assert response.status_code == 302
    event = Order.objects.get(pk=order.pk).events.get(to_status="cancelled")
    assert (event.actor_id, event.note) == (admin_user.pk, "customer phoned")
    again = admin_client.get(url)
    assert b"is cancelled, so it can no longer be cancelled" in again.content and b"Yes, cancel" not in again.content
