"""A new card saved while paying ("Save this card for next time", checkout.payment with
`save_card`): the card Stripe.js made (a PaymentMethod, or localstripe's token) is
attached to the shopper's customer before the PaymentIntent exists, so its 3-D Secure
check is the payment's only one; a card its bank will not save charges nothing; a guest
saves nothing; a card not asked to be saved is attached to no one."""
from __future__ import annotations

import pytest
import stripe

from cart.models import Cart
from orders.models import Order
from payments import customers, stripe_client
from payments.models import Payment, StripeCustomer
from tests.conftest import JsonClient
from tests.payments.test_saved_cards import ada, lamp, make_shopper, signed_in  # noqa: F401 (fixtures)
from tests.support.api_helpers import assert_error, db_state
from tests.support.stripe_fixtures import CARD_3DS, CARD_OK

# Refused by its bank when attached to a customer (localstripe); paid if never saved.
CARD_REFUSED_WHEN_SAVED = "4000000000000002"
# Saved without a word, then declined when charged.
CARD_DECLINED_WHEN_CHARGED = "4000000000000341"


def card_token(number: str) -> str:
    """What localstripe's stripe.createToken makes of the card typed in."""
    return stripe.Token.create(card={"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}).id


def pay_saving(client, cart: Cart, card: str):
    return client.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": card, "save_card": True})


@pytest.fixture
def stripe_calls(monkeypatch):
    """The order of the Stripe requests that matter here, as the shop makes them."""
    calls: list[str] = []
    for name in ("attach_payment_method", "save_card_token", "create_payment_intent", "confirm_payment_intent"):
        real = getattr(stripe_client, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(stripe_client, name, spy)
    return calls


def test_a_new_card_is_attached_to_the_customer_before_the_intent_is_made(stripe_emulator, ready_cart, lamp, ada, stripe_calls):
    cart = ready_cart({lamp: 2})
    client = signed_in(ada, cart)
    pm = stripe_emulator.payment_method(CARD_OK)

    response = pay_saving(client, cart, pm)

    assert response.status_code == 200, response.content
    assert stripe_calls == ["attach_payment_method", "create_payment_intent", "confirm_payment_intent"]
    customer_id = customers.customer_id_of(user_id=ada.pk)
    intent = stripe.PaymentIntent.retrieve(response.json()["payment_intent_id"])
    assert (intent.status, int(intent.amount), intent.customer, intent.payment_method) == ("succeeded", 8000, customer_id, pm)
    assert Order.objects.get(cart=cart).total.amount == 80
    [card] = customers.saved_cards(user_id=ada.pk)
    assert (card.payment_method_id, card.brand_name, card.last4, card.expiry) == (pm, "Visa", "4242", "12/34")


def test_a_3d_secure_card_saved_from_a_token_is_checked_once_by_the_payment(stripe_emulator, ready_cart, lamp, ada, stripe_calls):
    """localstripe's Stripe.js gives a token: saved as the customer's card, then paid with."""
    cart = ready_cart({lamp: 1})
    client = signed_in(ada, cart)

    asked = pay_saving(client, cart, card_token(CARD_3DS))

    assert asked.status_code == 200, asked.content
    assert asked.json()["status"] == "requires_action"  # the one check: the payment's
    assert stripe_calls == ["save_card_token", "create_payment_intent", "confirm_payment_intent"]
    [card] = customers.saved_cards(user_id=ada.pk)
    assert card.payment_method_id.startswith("card_") and (card.brand_name, card.last4) == ("Visa", "3184")
    intent_id = asked.json()["payment_intent_id"]
    stripe_emulator.authenticate(intent_id, asked.json()["client_secret"], success=True)
    finished = client.post(f"/api/v1/carts/{cart.pk}/payment/", {})
    assert finished.json()["cart"]["status"] == "completed"
    intent = stripe.PaymentIntent.retrieve(intent_id)
    assert (intent.status, int(intent.amount), intent.customer, intent.payment_method) == (
        "succeeded", 4000, customers.customer_id_of(user_id=ada.pk), card.payment_method_id,
    )
    # Next time it pays as one of the shopper's saved cards.
    assert customers.payer_for(payment_method=card.payment_method_id, user_id=ada.pk) == customers.customer_id_of(user_id=ada.pk)


def test_a_card_its_bank_will_not_save_is_explained_and_nothing_is_charged(stripe_emulator, ready_cart, lamp, ada):
    cart = ready_cart({lamp: 1})
    client = signed_in(ada, cart)
    reservation_before = Cart.objects.get(pk=cart.pk).reservation_expires_at

    response = pay_saving(client, cart, card_token(CARD_REFUSED_WHEN_SAVED))

    error = assert_error(response, 402, "payment_failed")
    assert error["message"] == "Your card was declined. Nothing was charged. Try another card, or contact your bank."
    assert stripe.PaymentIntent.list().data == [] and not Payment.objects.exists() and not Order.objects.exists()
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKOUT and cart.reservation_expires_at == reservation_before
    assert customers.saved_cards(user_id=ada.pk) == []


def test_a_card_not_asked_to_be_saved_is_attached_to_no_one(stripe_emulator, ready_cart, lamp, ada, stripe_calls):
    cart = ready_cart({lamp: 1})
    client = signed_in(ada, cart)
    pm = stripe_emulator.payment_method(CARD_OK)

    response = client.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": pm, "save_card": False})

    assert response.json()["cart"]["status"] == "completed"
    assert stripe_calls == ["create_payment_intent", "confirm_payment_intent"]
    assert stripe.PaymentMethod.retrieve(pm).customer is None
    assert not StripeCustomer.objects.exists() and stripe.Customer.list().data == []


def test_a_guest_cannot_save_a_card_and_nothing_changes(stripe_emulator, ready_cart, lamp):
    cart = ready_cart({lamp: 1})
    guest = JsonClient()
    pm = stripe_emulator.payment_method(CARD_OK)
    before = db_state()

    response = pay_saving(guest, cart, pm)

    error = assert_error(response, 400, "invalid")
    assert error["message"] == customers.SIGN_IN_TO_SAVE
    assert "save_card" in error["details"]
    assert db_state() == before and not Payment.objects.exists()
    assert stripe.PaymentIntent.list().data == [] and stripe.Customer.list().data == []
    assert stripe.PaymentMethod.retrieve(pm).customer is None


def test_another_customers_card_cannot_be_saved_again(stripe_emulator, ready_cart, lamp, ada):
    bob = make_shopper("bob@example.com")
    bobs_card = stripe_client.attach_payment_method(
        stripe_emulator.payment_method(CARD_OK), customer_id=customers.ensure_customer(user_id=bob.pk), idempotency_key="test-bob"
    ).id
    cart = ready_cart({lamp: 1})

    response = pay_saving(signed_in(ada, cart), cart, bobs_card)

    assert assert_error(response, 400, "invalid")["message"] == customers.NOT_YOUR_CARD
    assert not Payment.objects.exists() and stripe.PaymentIntent.list().data == []
    assert stripe.PaymentMethod.retrieve(bobs_card).customer == customers.customer_id_of(user_id=bob.pk)


def test_a_saved_card_id_is_not_a_new_card_to_save(stripe_emulator, ready_cart, lamp, ada):
    """Only a new card (pm_ or tok_) is saved: an old token's card id (card_) is refused."""
    cart = ready_cart({lamp: 1})

    response = pay_saving(signed_in(ada, cart), cart, "card_1234")

    assert "payment_method" in assert_error(response, 400, "invalid")["details"]
    assert not StripeCustomer.objects.exists()


def test_the_same_card_saved_again_from_a_token_replaces_the_older_copy_and_can_be_removed(stripe_emulator, ready_cart, lamp, ada):
    first, second = ready_cart({lamp: 1}), ready_cart({lamp: 1})
    assert pay_saving(signed_in(ada, first), first, card_token(CARD_OK)).json()["cart"]["status"] == "completed"
    [older] = customers.saved_cards(user_id=ada.pk)

    assert pay_saving(signed_in(ada, second), second, card_token(CARD_OK)).json()["cart"]["status"] == "completed"

    [newer] = customers.saved_cards(user_id=ada.pk)
    assert newer.payment_method_id != older.payment_method_id and newer.last4 == "4242"
    removed = customers.remove_card(user_id=ada.pk, payment_method_id=newer.payment_method_id)
    assert removed.last4 == "4242" and customers.saved_cards(user_id=ada.pk) == []


@pytest.mark.parametrize("made_by", ["payment_method", "token"])
def test_a_card_saved_for_a_payment_its_bank_declines_is_not_kept(stripe_emulator, ready_cart, lamp, ada, made_by):
    cart = ready_cart({lamp: 1})
    client = signed_in(ada, cart)
    card = stripe_emulator.payment_method(CARD_DECLINED_WHEN_CHARGED) if made_by == "payment_method" else card_token(CARD_DECLINED_WHEN_CHARGED)

    response = pay_saving(client, cart, card)

    assert response.status_code == 402, response.content
    assert customers.customer_id_of(user_id=ada.pk) is not None  # it was saved, then detached
    assert customers.saved_cards(user_id=ada.pk) == []
    assert not Order.objects.filter(cart=cart).exists()
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.CHECKOUT
