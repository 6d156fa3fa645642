"""Saved cards against localstripe: a Stripe Customer per user made once and only when
needed, a card saved at the payment step (attached to the customer while paying, by
payments.customers.save_card_for_payment: see also test_save_card_while_paying.py), paid
with through the same server-confirmation path, refused when it is not the shopper's,
declined with the same words as a new card, and removed (detached)."""
from __future__ import annotations

import logging
from typing import Any

import pytest
import stripe
from django.contrib.auth import get_user_model
from django.test import Client

from cart.models import Cart
from orders.models import Order
from payments import customers, stripe_client
from payments.models import Payment, StripeCustomer
from tests.conftest import JsonClient
from tests.support.api_helpers import assert_error, db_state
from tests.support.net import free_port
from shop.errors import PaymentProviderUnavailable
from tests.support.stripe_fixtures import CARD_DECLINED, CARD_OK

# --- helpers (also used by tests/accounts/test_cards_page.py) ------------------------------


def make_shopper(email: str = "ada@example.com") -> Any:
    return get_user_model().objects.create_user(username=email, email=email, password="correct horse battery")


def signed_in(user, cart: Cart | None = None) -> JsonClient:
    """A browser session of `user`, with `cart` as its cart (made theirs)."""
    client = JsonClient()
    client.force_login(user)
    if cart is not None:
        Cart.objects.filter(pk=cart.pk).update(user=user)
        session = client.session
        session["cart_id"] = str(cart.pk)
        session.save()
    return client


def new_card(number: str = CARD_OK) -> str:
    """A card PaymentMethod, as Stripe.js's createPaymentMethod makes one in the browser."""
    card = {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    return stripe.PaymentMethod.create(type="card", card=card).id


def save_card_while_paying(user, number: str = CARD_OK) -> str:
    """The payment step with "Save this card for next time" ticked, up to the payment
    itself: the new card checked and attached to the shopper's customer exactly as
    checkout.payment does it before the PaymentIntent is made (no intent, nothing
    charged, the cart still in checkout). Returns the saved card's PaymentMethod id."""
    card = customers.card_to_save(payment_method=new_card(number), user_id=user.pk)
    saved = customers.save_card_for_payment(user_id=user.pk, card=card)
    assert stripe.PaymentMethod.retrieve(saved.payment_method_id).customer == customers.customer_id_of(user_id=user.pk)
    return saved.payment_method_id


def pay(client: Client, cart: Cart, payment_method: str | None = None, *, save_card: bool = False):
    body: dict[str, Any] = {} if payment_method is None else {"payment_method": payment_method}
    if save_card:
        body["save_card"] = True
    return client.post(f"/api/v1/carts/{cart.pk}/payment/", body)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def lamp(make_variant):
    return make_variant("LAMP-1", price="40.00", on_hand=10)


@pytest.fixture
def ada(db):
    return make_shopper("ada@example.com")


@pytest.fixture
def bob(db):
    return make_shopper("bob@example.com")


# --- the customer ---------------------------------------------------------------------------


def test_the_customer_is_made_once_when_first_needed(stripe_emulator, ada):
    assert customers.customer_id_of(user_id=ada.pk) is None
    assert stripe.Customer.list().data == []

    first = customers.ensure_customer(user_id=ada.pk)
    again = customers.ensure_customer(user_id=ada.pk)

    assert first == again and first.startswith("cus_")
    assert StripeCustomer.objects.get(user=ada).stripe_customer_id == first
    assert [customer.id for customer in stripe.Customer.list().data] == [first]
    assert stripe.Customer.retrieve(first).metadata["user_id"] == str(ada.pk)


def test_a_customer_recorded_meanwhile_by_another_request_is_used(stripe_emulator, ada, monkeypatch):
    """Two requests at once: the one that records second uses the recorded customer (at
    real Stripe both got the same customer, through the shared idempotency key)."""
    real_create = stripe_client.create_customer

    def racing_create(**kwargs):
        made = real_create(**kwargs)
        StripeCustomer.objects.create(user_id=ada.pk, stripe_customer_id="cus_recordedfirst")
        return made

    monkeypatch.setattr(stripe_client, "create_customer", racing_create)

    assert customers.ensure_customer(user_id=ada.pk) == "cus_recordedfirst"
    assert StripeCustomer.objects.filter(user=ada).count() == 1


# --- saving a card ----------------------------------------------------------------------------


def test_saving_a_card_at_the_payment_step_attaches_it_to_the_shoppers_customer(stripe_emulator, ready_cart, lamp, ada):
    cart = ready_cart({lamp: 1})
    signed_in(ada, cart)

    pm = save_card_while_paying(ada)

    customer_id = customers.customer_id_of(user_id=ada.pk)
    assert customer_id is not None and stripe.PaymentMethod.retrieve(pm).customer == customer_id
    [card] = customers.saved_cards(user_id=ada.pk)
    assert (card.payment_method_id, card.brand_name, card.last4, card.expiry) == (pm, "Visa", "4242", "12/34")
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.CHECKOUT  # saving charges nothing
    assert stripe.PaymentIntent.list().data == [] and not Payment.objects.exists()


def test_the_same_card_saved_again_replaces_the_copy_saved_before(stripe_emulator, ada):
    older = save_card_while_paying(ada)

    newer = save_card_while_paying(ada)

    assert [card.payment_method_id for card in customers.saved_cards(user_id=ada.pk)] == [newer]
    assert stripe.PaymentMethod.retrieve(older).customer is None


def test_a_card_that_cannot_be_saved_is_explained_and_nothing_is_charged(stripe_emulator, ready_cart, lamp, ada):
    """Staff deleted the shopper's customer in Stripe's dashboard: attaching is refused,
    and the payment that asked to save the card is not begun."""
    customers.ensure_customer(user_id=ada.pk)
    stripe.Customer.delete(customers.customer_id_of(user_id=ada.pk))
    cart = ready_cart({lamp: 1})
    client = signed_in(ada, cart)
    card = new_card()
    before = db_state()

    response = pay(client, cart, card, save_card=True)

    error = assert_error(response, 400, "invalid")
    assert error["message"] == customers.CARD_NOT_SAVED
    assert error["details"] == {"payment_method": [customers.CARD_NOT_SAVED]}
    assert db_state() == before and not Payment.objects.exists()
    assert stripe.PaymentIntent.list().data == [] and stripe.PaymentMethod.retrieve(card).customer is None
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.CHECKOUT


# --- paying with a saved card ------------------------------------------------------------------


def test_paying_with_a_saved_card_completes_the_checkout_with_one_order(
    stripe_emulator, ready_cart, lamp, ada, mailoutbox, django_capture_on_commit_callbacks
):
    first = ready_cart({lamp: 1})
    client = signed_in(ada, first)
    saving = pay(client, first, new_card(), save_card=True)  # "Save this card for next time"
    assert saving.json()["cart"]["status"] == "completed"
    [saved] = customers.saved_cards(user_id=ada.pk)
    pm = saved.payment_method_id
    second = ready_cart({lamp: 2})
    client = signed_in(ada, second)

    with django_capture_on_commit_callbacks(execute=True):
        response = pay(client, second, pm)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["cart"]["status"]) == ("succeeded", "completed")
    order = Order.objects.get(cart=second)
    assert order.total.amount == 80 and order.payment_status == "paid"
    intent = stripe.PaymentIntent.retrieve(body["payment_intent_id"])
    assert intent.customer == customers.customer_id_of(user_id=ada.pk)
    assert intent.payment_method == pm and int(intent.amount) == 8000
    assert Order.objects.count() == 2 and len(mailoutbox) == 1


def test_a_new_card_that_is_not_saved_pays_without_a_customer(stripe_emulator, ready_cart, lamp, ada):
    cart = ready_cart({lamp: 1})
    client = signed_in(ada, cart)

    response = pay(client, cart, stripe_emulator.payment_method(CARD_OK))

    assert response.json()["cart"]["status"] == "completed"
    assert stripe.PaymentIntent.retrieve(response.json()["payment_intent_id"]).customer is None
    assert not StripeCustomer.objects.exists()


def test_another_customers_saved_card_is_refused_and_changes_nothing(stripe_emulator, ready_cart, lamp, ada, bob):
    bobs_card = save_card_while_paying(bob)
    customers.ensure_customer(user_id=ada.pk)  # Ada has saved cards of her own
    adas_cart = ready_cart({lamp: 1})
    client = signed_in(ada, adas_cart)
    before = db_state()

    response = pay(client, adas_cart, bobs_card)

    error = assert_error(response, 400, "invalid")
    assert error["message"] == customers.NOT_YOUR_CARD
    assert "payment_method" in error["details"]
    assert db_state() == before
    assert not Payment.objects.exists() and stripe.PaymentIntent.list().data == []
    assert stripe.PaymentMethod.retrieve(bobs_card).customer == customers.customer_id_of(user_id=bob.pk)


def test_a_guest_cannot_pay_with_a_saved_card_even_for_its_owners_cart(api, stripe_emulator, ready_cart, lamp, ada):
    """Knowing a cart's id is the right to use the cart, not its owner's saved cards."""
    cart = ready_cart({lamp: 1})
    signed_in(ada, cart)
    pm = save_card_while_paying(ada)
    before = db_state()

    response = pay(api, cart, pm)

    assert_error(response, 400, "invalid")
    assert db_state() == before and not Payment.objects.exists()


def test_a_declined_saved_card_gets_the_same_words_as_a_declined_new_card(stripe_emulator, ready_cart, lamp, ada):
    # 4000 0000 0000 0341 is saved (attached) without complaint and declined when charged.
    saved_cart = ready_cart({lamp: 1})
    client = signed_in(ada, saved_cart)
    pm = save_card_while_paying(ada, CARD_DECLINED)
    assert stripe.PaymentMethod.retrieve(pm).customer == customers.customer_id_of(user_id=ada.pk)
    new_card_cart = ready_cart({lamp: 1})

    with_saved = pay(client, saved_cart, pm)
    with_new = pay(JsonClient(), new_card_cart, stripe_emulator.payment_method(CARD_DECLINED))

    saved_error = assert_error(with_saved, 402, "payment_failed")
    new_error = assert_error(with_new, 402, "payment_failed")
    assert saved_error["message"] == new_error["message"]
    assert "declined" in saved_error["message"] and "Nothing was charged" in saved_error["message"]
    saved_cart.refresh_from_db()
    assert saved_cart.status == Cart.Status.CHECKOUT and not Order.objects.exists()


def test_a_saved_card_can_be_paid_with_again_after_a_decline_of_another_card(stripe_emulator, ready_cart, lamp, ada):
    cart = ready_cart({lamp: 1})
    client = signed_in(ada, cart)
    good = save_card_while_paying(ada, CARD_OK)
    declined = save_card_while_paying(ada, CARD_DECLINED)
    assert pay(client, cart, declined).status_code == 402

    response = pay(client, cart, good)

    assert response.status_code == 200, response.content
    assert response.json()["cart"]["status"] == "completed"
    assert Order.objects.filter(cart=cart).count() == 1


# --- removing a card ----------------------------------------------------------------------------


def test_removing_a_card_detaches_it_at_stripe(stripe_emulator, ada):
    pm = save_card_while_paying(ada)

    removed = customers.remove_card(user_id=ada.pk, payment_method_id=pm)

    assert removed.last4 == "4242"
    assert stripe.PaymentMethod.retrieve(pm).customer is None
    assert customers.saved_cards(user_id=ada.pk) == []


def test_a_removed_card_no_longer_pays_as_a_saved_card(stripe_emulator, ada):
    """Detached, it is nobody's card: at real Stripe it can never be used again; the shop
    at least never names the customer for it."""
    pm = save_card_while_paying(ada)
    customers.remove_card(user_id=ada.pk, payment_method_id=pm)

    assert customers.payer_for(payment_method=pm, user_id=ada.pk) is None


def test_stripe_away_hides_saved_cards_and_pays_nothing(stripe_emulator, ready_cart, lamp, ada, settings):
    cart = ready_cart({lamp: 1})
    client = signed_in(ada, cart)
    pm = save_card_while_paying(ada)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    before = db_state()

    with pytest.raises(PaymentProviderUnavailable):
        customers.saved_cards(user_id=ada.pk)
    response = pay(client, cart, pm)

    assert_error(response, 502, "payment_provider_unavailable")
    assert db_state() == before


# --- account deletion ------------------------------------------------------------------------------


def test_forgetting_a_customer_detaches_the_cards_and_deletes_it_after_commit(
    stripe_emulator, ada, django_capture_on_commit_callbacks
):
    pm = save_card_while_paying(ada)
    customer_id = customers.customer_id_of(user_id=ada.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert customers.forget_customer(user_id=ada.pk) is True

    assert not StripeCustomer.objects.exists()
    assert stripe.PaymentMethod.retrieve(pm).customer is None
    with pytest.raises(stripe.InvalidRequestError):
        stripe.Customer.retrieve(customer_id)
    assert customers.forget_customer(user_id=ada.pk) is False


# --- nothing logged ----------------------------------------------------------------------------------


def test_no_card_details_are_logged_while_saving_paying_and_removing(stripe_emulator, ready_cart, lamp, ada, caplog):
    cart = ready_cart({lamp: 1})
    client = signed_in(ada, cart)
    card = new_card(CARD_DECLINED)  # the browser's own call, not logged below

    with caplog.at_level(logging.DEBUG):
        declined = pay(client, cart, card, save_card=True)  # saved, declined, detached again
        removed = client.post(f"/account/cards/{card}/remove/")  # so removing it finds nothing

    assert declined.status_code == 402 and removed.status_code == 404
    assert customers.saved_cards(user_id=ada.pk) == []

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records  # the flow did log (a decline, a removal)
    for detail in ("0341", "4000000000000341", "2034", "12/34"):
        assert detail not in logged
