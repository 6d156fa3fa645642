"""The saved cards a shopper sees: /account/cards/ (list, Remove) and the payment step
(saved cards offered above the new-card field, "Save this card for next time")."""
from __future__ import annotations

import pytest
import stripe
from django.test import Client

from payments import customers
from tests.payments.test_saved_cards import make_shopper, save_card_while_paying, signed_in
from tests.support.net import free_port
from tests.support.shipping import make_method
from tests.support.stripe_fixtures import CARD_DECLINED

CARDS = "/account/cards/"


@pytest.fixture
def lamp(make_variant):
    return make_variant("LAMP-1", price="40.00", on_hand=10)


@pytest.fixture
def ada(db):
    return make_shopper("ada@example.com")


@pytest.fixture
def bob(db):
    return make_shopper("bob@example.com")


@pytest.fixture
def at_payment_step(ready_cart, lamp):
    """A cart in checkout with its address and shipping method chosen: the payment step opens."""
    make_method(code="standard", name="Standard", price="4.99")
    return ready_cart({lamp: 1}, shipping_method="standard")


def remove_url(payment_method_id: str) -> str:
    return f"{CARDS}{payment_method_id}/remove/"


# --- /account/cards/ -----------------------------------------------------------------------------


def test_the_cards_page_needs_a_signed_in_shopper(db):
    response = Client().get(CARDS)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"] and "next=/account/cards/" in response["Location"]


def test_the_cards_page_lists_saved_cards_with_a_remove_button(stripe_emulator, ready_cart, lamp, ada):
    client = signed_in(ada, ready_cart({lamp: 1}))
    pm = save_card_while_paying(ada)

    page = client.get(CARDS).content.decode()

    assert "Visa •••• 4242" in page and "Visa ending in 4242" in page
    assert "Expires 12/34" in page
    assert f'action="{remove_url(pm)}"' in page
    assert "csrfmiddlewaretoken" in page


def test_with_no_saved_card_the_page_says_how_to_save_one_and_asks_stripe_nothing(db, ada, settings):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # any Stripe request would fail
    client = signed_in(ada)

    response = client.get(CARDS)

    assert response.status_code == 200
    assert "You have no saved cards" in response.content.decode()


def test_removing_a_card_detaches_it_and_it_is_gone_from_the_page(stripe_emulator, ready_cart, lamp, ada):
    client = signed_in(ada, ready_cart({lamp: 1}))
    pm = save_card_while_paying(ada)

    response = client.post(remove_url(pm), follow=True)

    assert response.redirect_chain == [(CARDS, 302)]
    page = response.content.decode()
    assert "Visa ending in 4242 is removed from your account." in page
    assert "Visa •••• 4242" not in page and "You have no saved cards" in page
    assert stripe.PaymentMethod.retrieve(pm).customer is None


def test_removing_is_a_post_with_csrf(stripe_emulator, ready_cart, lamp, ada):
    client = signed_in(ada, ready_cart({lamp: 1}))
    pm = save_card_while_paying(ada)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ada)

    assert client.get(remove_url(pm)).status_code == 405
    assert strict.post(remove_url(pm)).status_code == 403
    assert stripe.PaymentMethod.retrieve(pm).customer is not None


def test_another_users_card_is_404_and_stays_saved(stripe_emulator, ada, bob):
    bobs_card = save_card_while_paying(bob)
    customers.ensure_customer(user_id=ada.pk)
    client = signed_in(ada)

    response = client.post(remove_url(bobs_card))

    assert response.status_code == 404
    assert stripe.PaymentMethod.retrieve(bobs_card).customer == customers.customer_id_of(user_id=bob.pk)
    assert "You have no saved cards" in client.get(CARDS).content.decode()


def test_a_card_stripe_does_not_know_is_404(stripe_emulator, ada):
    customers.ensure_customer(user_id=ada.pk)

    assert signed_in(ada).post(remove_url("pm_doesnotexist")).status_code == 404


def test_stripe_away_the_page_says_so_and_nothing_is_removed(stripe_emulator, ready_cart, lamp, ada, settings):
    client = signed_in(ada, ready_cart({lamp: 1}))
    pm = save_card_while_paying(ada)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    page = client.get(CARDS)
    removed = client.post(remove_url(pm), follow=True)

    assert page.status_code == 200 and "cannot be shown just now" in page.content.decode()
    assert "Your card is still saved" in removed.content.decode()


# --- the payment step ------------------------------------------------------------------------------


def test_a_signed_in_shopper_is_offered_to_save_the_card(stripe_emulator, at_payment_step, ada):
    client = signed_in(ada, at_payment_step)

    page = client.get("/checkout/payment/").content.decode()

    assert 'id="save-card"' in page and "Save this card for next time" in page
    assert 'data-can-save-card="true"' in page  # saved by the payment request itself
    assert 'name="card_choice"' not in page  # no saved card yet: only the card field
    assert 'id="new-card" hidden' not in page


def test_a_guest_is_offered_neither_saved_cards_nor_saving(stripe_emulator, at_payment_step):
    cart = at_payment_step
    guest = Client()
    session = guest.session
    session["cart_id"] = str(cart.pk)
    session.save()

    page = guest.get("/checkout/payment/").content.decode()

    assert "Save this card" not in page and 'name="card_choice"' not in page
    assert "data-can-save-card" not in page


def test_the_payment_step_offers_saved_cards_above_the_new_card_field(stripe_emulator, at_payment_step, ada):
    client = signed_in(ada, at_payment_step)
    first = save_card_while_paying(ada)
    declined = save_card_while_paying(ada, CARD_DECLINED)

    page = client.get("/checkout/payment/").content.decode()

    assert page.count('name="card_choice"') == 3  # two saved cards and "A new card"
    assert page.index(f'value="{first}"') < page.index('id="card-element"')
    assert "Visa •••• 0341" in page and "Visa •••• 4242" in page and "Expires 12/34" in page
    checked = [value for value in (first, declined) if f'value="{value}" checked' in page]
    assert len(checked) == 1  # one saved card chosen; the new-card field hidden until chosen
    assert 'id="new-card" hidden' in page


def test_an_expired_saved_card_is_shown_but_cannot_be_chosen(stripe_emulator, at_payment_step, ada, monkeypatch):
    client = signed_in(ada, at_payment_step)
    pm = save_card_while_paying(ada)
    expired = customers.SavedCard(pm, "visa", "4242", 1, 2020)
    monkeypatch.setattr(customers, "saved_cards", lambda **kwargs: [expired])

    page = client.get("/checkout/payment/").content.decode()

    assert "Expired 01/20" in page
    assert f'value="{pm}" disabled' in page
    assert 'value="new" checked' in page and 'id="new-card" hidden' not in page


def test_with_stripe_away_the_payment_step_still_opens(stripe_emulator, at_payment_step, ada, settings):
    client = signed_in(ada, at_payment_step)
    save_card_while_paying(ada)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"

    response = client.get("/checkout/payment/")

    assert response.status_code == 200
    assert "Your saved cards cannot be shown just now" in response.content.decode()
