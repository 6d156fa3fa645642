"""A signed-in shopper in a real browser (Debian's chromium through Playwright, Stripe.js
from localstripe) saves a card while paying, buys again with it in two clicks, and
removes it from their account.

Screenshots go to /tmp/shots/cards_*.png for a person to look at. `chromium` comes last
in the test's arguments: fixtures that write to the database must run before the
browser opens (see tests/support/browser_fixtures.py).
"""
from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlparse

import pytest
import stripe
from django.conf import settings
from django.test import Client
from moneyed import Money

from cart.models import Cart
from orders.models import Order
from payments import customers, declines
from payments.models import Payment
from tests.payments.test_saved_cards import make_shopper, save_card_while_paying
from tests.support.browser_fixtures import SHOTS, off_loop
from tests.support.shipping import make_method
from tests.support.stripe_fixtures import CARD_DECLINED

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
OVERFLOWING = """() => [...document.querySelectorAll('main *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''))"""
PAY = re.compile(r"^Pay ")


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"cards_{name}.png"), full_page=True)


def fill_card(page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry month (MM)").fill("12")
    page.get_by_label("Expiry year (YY)").fill("34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_label("Card postal code").fill("10001")


def paid_intent_of(cart: Cart) -> str:
    return Payment.objects.get(order__cart_id=cart.pk).stripe_payment_intent_id


@pytest.fixture
def lamp(make_variant):
    make_method(code="standard", name="Standard", price=Money(Decimal("4.99"), "USD"))
    return make_variant("LAMP-1", price="40.00", on_hand=10)


@pytest.fixture
def shopper(db):
    return make_shopper("ada@example.com")


@pytest.fixture
def cart_at_payment(ready_cart, lamp, shopper):
    """cart_at_payment() -> a cart of the shopper in checkout, address and shipping chosen
    (made through the API, as the earlier steps would)."""

    def make() -> Cart:
        cart = ready_cart({lamp: 1}, shipping_method="standard")
        Cart.objects.filter(pk=cart.pk).update(user=shopper)
        return cart

    return make


@pytest.fixture
def session_cookie(shopper, live_server) -> dict:
    """The shopper's signed-in session, as a cookie for the browser."""
    client = Client()
    client.force_login(shopper)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "domain": urlparse(live_server.url).hostname,
        "path": "/",
    }


def test_a_shopper_saves_a_card_pays_with_it_again_and_removes_it(
    cart_at_payment, shopper, session_cookie, browser_stripe, live_server, chromium
):
    base = live_server.url
    first = off_loop(cart_at_payment)
    context = chromium.new_context(viewport=DESKTOP)
    context.add_cookies([session_cookie])
    page = context.new_page()

    # First purchase: a new card, "Save this card for next time" ticked.
    page.goto(f"{base}/checkout/payment/")
    page.get_by_label("Card number").wait_for()
    assert page.locator("input[name=card_choice]").count() == 0
    fill_card(page, "4242424242424242")
    page.get_by_label("Save this card for next time").check()
    shot(page, "payment_save_1280")
    page.get_by_role("button", name=PAY).click()
    page.wait_for_url(f"{base}/checkout/complete/", timeout=30_000)

    customer_id = off_loop(lambda: customers.customer_id_of(user_id=shopper.pk))
    [saved] = off_loop(lambda: customers.saved_cards(user_id=shopper.pk))
    assert saved.last4 == "4242"
    first_order = off_loop(lambda: Order.objects.get(cart_id=first.pk))
    assert stripe.PaymentIntent.retrieve(off_loop(lambda: paid_intent_of(first))).customer == customer_id

    # Second purchase: the saved card is chosen already; the card field stays hidden.
    second = off_loop(cart_at_payment)
    page.goto(f"{base}/checkout/payment/")
    saved_choice = page.get_by_label(re.compile(r"Visa ending in 4242"))
    assert saved_choice.is_checked()
    assert not page.locator("#new-card").is_visible()
    assert page.get_by_text("Expires 12/34").is_visible()
    shot(page, "payment_saved_1280")
    page.set_viewport_size(PHONE)
    assert page.evaluate(OVERFLOWING) == []
    shot(page, "payment_saved_375")
    # Choosing "A new card" shows the field, and choosing the saved one hides it again.
    page.get_by_label("A new card").check()
    assert page.locator("#new-card").is_visible()
    saved_choice.check()
    assert not page.locator("#new-card").is_visible()
    page.get_by_role("button", name=PAY).click()
    page.wait_for_url(f"{base}/checkout/complete/", timeout=30_000)

    orders = off_loop(lambda: list(Order.objects.order_by("pk")))
    assert [order.cart_id for order in orders] == [first.pk, second.pk] and orders[0] == first_order
    assert orders[1].total == Money(Decimal("44.99"), "USD")
    intent = stripe.PaymentIntent.retrieve(off_loop(lambda: paid_intent_of(second)))
    assert (intent.payment_method, intent.customer, intent.status) == (saved.payment_method_id, customer_id, "succeeded")

    # The cards page: the card, and a Remove button that detaches it.
    page.goto(f"{base}/account/cards/")
    assert page.get_by_role("heading", name="Saved cards").is_visible()
    assert page.evaluate(OVERFLOWING) == []
    shot(page, "account_375")
    page.set_viewport_size(DESKTOP)
    shot(page, "account_1280")
    page.get_by_role("button", name="Remove Visa ending in 4242").click()
    page.wait_for_url(f"{base}/account/cards/")
    assert page.get_by_text("Visa ending in 4242 is removed from your account.").is_visible()
    assert page.get_by_text("You have no saved cards").is_visible()
    shot(page, "account_removed_1280")
    assert off_loop(lambda: customers.saved_cards(user_id=shopper.pk)) == []  # removed at Stripe
    context.close()


@pytest.fixture
def declined_card_saved(cart_at_payment, shopper, stripe_webhooks) -> tuple[Cart, str]:
    """A cart at the payment step and a saved card that is declined when charged
    (4000 0000 0000 0341 attaches without complaint), saved through the shop."""
    cart = cart_at_payment()  # the shopper's cart
    return cart, save_card_while_paying(shopper, CARD_DECLINED)


def test_on_a_phone_a_declined_saved_card_is_explained_and_a_new_card_then_pays(
    declined_card_saved, shopper, session_cookie, browser_stripe, live_server, chromium
):
    base = live_server.url
    cart, declined = declined_card_saved
    context = chromium.new_context(viewport=PHONE)
    context.add_cookies([session_cookie])
    page = context.new_page()

    page.goto(f"{base}/checkout/payment/")
    assert page.get_by_label(re.compile(r"Visa ending in 0341")).is_checked()
    page.get_by_role("button", name=PAY).click()
    problem = page.locator("#saved-card-errors")
    problem.wait_for(state="visible", timeout=30_000)
    assert problem.inner_text() == declines.shopper_message("card_declined")
    assert page.evaluate(OVERFLOWING) == []
    shot(page, "payment_declined_375")
    assert off_loop(lambda: Order.objects.count()) == 0

    page.get_by_label("A new card").check()
    assert not problem.is_visible()
    assert page.get_by_label("Save this card for next time").is_visible()
    shot(page, "payment_new_card_375")
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name=PAY).click()
    page.wait_for_url(f"{base}/checkout/complete/", timeout=30_000)

    assert off_loop(lambda: list(Order.objects.values_list("cart_id", flat=True))) == [cart.pk]
    intent = stripe.PaymentIntent.retrieve(off_loop(lambda: paid_intent_of(cart)))
    assert intent.status == "succeeded" and intent.customer is None  # a new card, not saved
    context.close()
