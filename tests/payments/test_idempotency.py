"""Every request that changes something at Stripe carries an idempotency key derived from
the shop's own ids: create, update, attach and confirm, cancel and capture an intent,
refund, and for saved cards the customer, saving a card while paying (attaching a
PaymentMethod, or saving localstripe's token to the customer) and detaching a card.
(Deleting a customer, for a deleted account, or a token's card from its customer is a
DELETE: idempotent by definition, and Stripe takes no key for it.)"""
from __future__ import annotations

import pytest
import stripe

from checkout import cancellation
from orders.models import Order
from payments import customers
from payments import services as payment_services
from tests.payments.test_save_card_while_paying import card_token
from tests.payments.test_saved_cards import make_shopper, new_card, pay, signed_in

MUTATING = {
    (stripe.PaymentIntentService, "create"),
    (stripe.PaymentIntentService, "update"),
    (stripe.PaymentIntentService, "confirm"),
    (stripe.PaymentIntentService, "cancel"),
    (stripe.PaymentIntentService, "capture"),
    (stripe.RefundService, "create"),
    (stripe.CustomerService, "create"),
    (stripe.CustomerPaymentSourceService, "create"),
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
    # A payment with a card, a cancellation (refund).
    cart = ready_cart({lamp: 1})
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
            "PaymentIntentService.cancel", "PaymentIntentService.capture", "RefundService.create"} <= made
    missing = [name for name, key in stripe_requests if not key]
    assert missing == []
    for name, key in stripe_requests:
        assert key.startswith(("shop-pi-", "shop-refund-")), (name, key)


def test_saved_card_requests_carry_idempotency_keys_from_our_ids(stripe_emulator, ready_cart, make_variant, stripe_requests):
    lamp = make_variant("LAMP-1", price="40.00", on_hand=5)
    ada = make_shopper()
    cart, second = ready_cart({lamp: 1}), ready_cart({lamp: 1})
    pm, token = new_card(), card_token("4242424242424242")  # as Stripe.js makes them, before

    # Saved while paying: the customer made, the card attached, then the intent.
    assert pay(signed_in(ada, cart), cart, pm, save_card=True).status_code == 200
    # localstripe's Stripe.js token, saved to the customer while paying.
    assert pay(signed_in(ada, second), second, token, save_card=True).status_code == 200
    [saved] = customers.saved_cards(user_id=ada.pk)  # the same card saved again replaced the first
    customers.remove_card(user_id=ada.pk, payment_method_id=saved.payment_method_id)

    made = {name for name, _key in stripe_requests}
    assert {"CustomerService.create", "PaymentMethodService.attach", "CustomerPaymentSourceService.create",
            "PaymentMethodService.detach", "PaymentIntentService.create", "PaymentIntentService.confirm"} <= made
    assert [name for name, key in stripe_requests if not key] == []
    customer_id = customers.customer_id_of(user_id=ada.pk)
    keys = dict(stripe_requests)
    assert keys["CustomerService.create"] == f"shop-cus-{ada.pk}-{int(ada.date_joined.timestamp() * 1_000_000)}"
    assert keys["PaymentMethodService.attach"] == f"shop-pm-attach-{customer_id}-{pm}"
    assert keys["CustomerPaymentSourceService.create"] == f"shop-card-save-{customer_id}-{token}"
    # The older copy detached; the token's card (card_...) is removed with a DELETE, which takes no key.
    assert saved.payment_method_id.startswith("card_")
    assert [key for name, key in stripe_requests if name == "PaymentMethodService.detach"] == [f"shop-pm-detach-{customer_id}-{pm}"]
