"""Every request that changes something at Stripe carries an idempotency key derived from
the shop's own ids: create, update, attach and confirm, cancel and capture an intent,
refund, the SetupIntent of the card form, and for saved cards the customer, attaching and
detaching a card. (Deleting a customer, for a deleted account, is a DELETE: idempotent by
definition, and Stripe takes no key for it.)"""
from __future__ import annotations

import pytest
import stripe
from django.test import Client

from checkout import cancellation
from orders.models import Order
from payments import customers
from payments import services as payment_services
from tests.payments.test_saved_cards import make_shopper, pay, save_card_at_checkout, signed_in

MUTATING = {
    (stripe.PaymentIntentService, "create"),
    (stripe.PaymentIntentService, "update"),
    (stripe.PaymentIntentService, "confirm"),
    (stripe.PaymentIntentService, "cancel"),
    (stripe.PaymentIntentService, "capture"),
    (stripe.RefundService, "create"),
    (stripe.SetupIntentService, "create"),
    (stripe.CustomerService, "create"),
    (stripe.PaymentMethodService, "attach"),
    (stripe.PaymentMethodService, "detach"),
}


@pytest.fixture
def stripe_requests(monkeypatch):
    """Every mutating SDK request made: (service, method, idempotency key or None)."""
    seen: list[tuple[str, str, str | None]] = []
    for service, method in MUTATING:
        real = getattr(service, method)

        def recording(self, *args, __real=real, __name=f"{service.__name__}.{method}", **kwargs):
            seen.append((__name, (kwargs.get("options") or {}).get("idempotency_key")))
            return __real(self, *args, **kwargs)

        monkeypatch.setattr(service, method, recording)
    return seen


def test_every_mutating_stripe_request_has_an_idempotency_key_from_our_ids(
    api, stripe_emulator, ready_cart, make_variant, settings, stripe_requests, django_capture_on_commit_callbacks
):
    lamp = make_variant("LAMP-1", price="40.00", on_hand=5)
    # A SetupIntent from the card form, a payment with a card, a cancellation (refund).
    cart = ready_cart({lamp: 1})
    browser = Client()
    session = browser.session
    session["cart_id"] = str(cart.pk)
    session.save()
    assert browser.post("/checkout/payment/setup-intent/").status_code == 200
    api.post(f"/api/v1/carts/{cart.pk}/payment/", {})  # creates the intent; the next request reuses it
    response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()})
    assert response.status_code == 200, response.content
    order = Order.objects.get(cart=cart)
    with django_capture_on_commit_callbacks(execute=True):
        cancellation.cancel_order(order_id=order.pk, by_customer=False)
    # Manual capture: authorize, capture.
    settings.STRIPE_CAPTURE_METHOD = "manual"
    second = ready_cart({lamp: 1})
    assert api.post(f"/api/v1/carts/{second.pk}/payment/", {"payment_method": stripe_emulator.payment_method()}).status_code == 200
    payment_services.capture_order_payment(order_id=Order.objects.get(cart=second).pk)
    # The intent of an ended checkout cancelled.
    third = ready_cart({lamp: 1})
    api.post(f"/api/v1/carts/{third.pk}/payment/", {})
    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"/api/v1/carts/{third.pk}/checkout/")

    made = {name for name, _key in stripe_requests}
    assert {"PaymentIntentService.create", "PaymentIntentService.update", "PaymentIntentService.confirm",
            "PaymentIntentService.cancel", "PaymentIntentService.capture", "RefundService.create",
            "SetupIntentService.create"} <= made
    missing = [name for name, key in stripe_requests if not key]
    assert missing == []
    for name, key in stripe_requests:
        assert key.startswith(("shop-pi-", "shop-refund-", "shop-si-")), (name, key)
    assert f"shop-si-{cart.pk}-" in " ".join(key for _n, key in stripe_requests)


def test_saved_card_requests_carry_idempotency_keys_from_our_ids(stripe_emulator, ready_cart, make_variant, stripe_requests):
    lamp = make_variant("LAMP-1", price="40.00", on_hand=5)
    ada = make_shopper()
    cart = ready_cart({lamp: 1})
    client = signed_in(ada, cart)

    pm = save_card_at_checkout(client)  # the customer made, a SetupIntent for it, the card attached
    assert pay(client, cart, pm).status_code == 200
    customers.remove_card(user_id=ada.pk, payment_method_id=pm)

    made = {name for name, _key in stripe_requests}
    assert {"CustomerService.create", "SetupIntentService.create", "PaymentMethodService.attach",
            "PaymentMethodService.detach", "PaymentIntentService.update", "PaymentIntentService.confirm"} <= made
    assert [name for name, key in stripe_requests if not key] == []
    customer_id = customers.customer_id_of(user_id=ada.pk)
    keys = dict(stripe_requests)
    assert keys["CustomerService.create"] == f"shop-cus-{ada.pk}-{int(ada.date_joined.timestamp() * 1_000_000)}"
    assert keys["SetupIntentService.create"].startswith(f"shop-si-{cart.pk}-")
    assert keys["PaymentMethodService.attach"] == f"shop-pm-attach-{customer_id}-{pm}"
    assert keys["PaymentMethodService.detach"] == f"shop-pm-detach-{customer_id}-{pm}"
