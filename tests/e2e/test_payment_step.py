"""The payment step in a real browser (localstripe's Stripe.js): a card that needs 3-D
Secure is challenged once per payment, and every error the step can show is a sentence
for shoppers, never Stripe's (nothing about setup intents, no "Bad request").

`chromium` comes last in each test's arguments: fixtures that write to the database run
before the browser opens (tests/support/browser_fixtures.py).
"""
from __future__ import annotations

from decimal import Decimal

import pytest
import stripe
from moneyed import Money

from orders.models import Order
from payments.models import Payment
from tests.support.browser_fixtures import SHOTS, off_loop
from tests.support.storefront import (  # noqa: F401 (fixtures)
    DESKTOP,
    PAY,
    PHONE,
    cart_at_payment,
    cart_status,
    fill_card,
    open_page,
    storefront,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CARD_3DS = "4000002760003184"
CARD_3DS_ONE_OFF = "4000002500003155"
# Counts localstripe's 3-D Secure dialogs as they open (each adds its two buttons), in
# the tab's sessionStorage: the count survives the page's move to the confirmation.
COUNT_CHALLENGES = """
new MutationObserver(records => {
  for (const record of records) for (const node of record.addedNodes) {
    if (node.nodeType === 1 && [...node.querySelectorAll('button')].some(b => b.textContent === 'Complete authentication')) {
      sessionStorage.setItem('challenges', String(Number(sessionStorage.getItem('challenges') || 0) + 1));
    }
  }
}).observe(document, {childList: true, subtree: true});
"""
# Words of Stripe's (or localstripe's) that must never reach a shopper.
JARGON = ("Bad request", "setup", "intent", "PaymentMethod", "payment method", "localstripe", "status")


def paid_intent(cart) -> Payment:
    return Payment.objects.get(order__cart_id=cart.pk)


@pytest.mark.parametrize("card", [CARD_3DS, CARD_3DS_ONE_OFF])
def test_a_card_that_needs_3d_secure_is_challenged_once(card, cart_at_payment, browser_stripe, live_server, chromium):  # noqa: F811
    cart, client = cart_at_payment
    base = live_server.url
    page = open_page(chromium, live_server, PHONE, client)
    page.add_init_script(COUNT_CHALLENGES)
    page.goto(f"{base}/checkout/payment/")
    page.get_by_label("Card number").wait_for()
    fill_card(page, card)
    page.get_by_role("button", name=PAY).click()
    page.get_by_role("button", name="Complete authentication").click(timeout=30_000)
    page.wait_for_url(f"{base}/checkout/complete/", timeout=30_000)
    page.get_by_role("heading", name="Thank you, your order is placed").wait_for()
    page.screenshot(path=str(SHOTS / "payment-3ds-once-375.png"), full_page=True)

    assert page.evaluate("sessionStorage.getItem('challenges')") == "1"
    order = off_loop(lambda: Order.objects.get(cart_id=cart.pk))
    assert order.total == Money(Decimal("44.97"), "USD")  # 2 x 19.99 + 4.99
    intent = stripe.PaymentIntent.retrieve(off_loop(lambda: paid_intent(cart)).stripe_payment_intent_id)
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 4497, "usd")
    assert off_loop(lambda: cart_status(cart)) == "completed"


def shown_error(page) -> str:
    error = page.locator("#card-errors")
    error.wait_for(state="visible", timeout=30_000)
    return error.inner_text().strip()


def assert_plain(message: str) -> None:
    assert message and not any(word.lower() in message.lower() for word in JARGON), message


def test_every_payment_error_is_in_the_shoppers_words(cart_at_payment, browser_stripe, live_server, chromium):  # noqa: F811
    cart, client = cart_at_payment
    base = live_server.url
    page = open_page(chromium, live_server, PHONE, client)
    page.goto(f"{base}/checkout/payment/")
    page.get_by_label("Card number").wait_for()
    pay = page.get_by_role("button", name=PAY)

    # Nothing typed: said before anything is sent.
    pay.click()
    message = shown_error(page)
    assert message == (
        "Your card details are incomplete. Enter the card number, expiry date, security code (CVC) and postcode."
    )

    # A number too short: localstripe answers "Bad request"; the shopper reads this.
    fill_card(page, "4242 4242")
    pay.click()
    page.wait_for_function("document.getElementById('pay-button').getAttribute('aria-busy') === 'false'")
    message = shown_error(page)
    assert_plain(message)
    assert message == "This card could not be used. Check the card number, expiry date and security code, or use another card."

    # Declined when charged: the shop's 402, in its words.
    fill_card(page, "4000000000000341")
    pay.click()
    page.wait_for_function("document.getElementById('card-errors').innerText.includes('declined')")
    message = shown_error(page)
    assert_plain(message)
    assert message == "Your card was declined. Nothing was charged. Try another card, or contact your bank."

    # 3-D Secure refused by the shopper (or their bank).
    fill_card(page, CARD_3DS)
    pay.click()
    page.get_by_role("button", name="Fail authentication").click(timeout=30_000)
    page.wait_for_function("document.getElementById('card-errors').innerText.includes('did not confirm')")
    message = shown_error(page)
    assert_plain(message)
    assert message == "Your bank did not confirm the payment, so nothing was charged. Try again or use another card."
    page.screenshot(path=str(SHOTS / "payment-3ds-refused-375.png"), full_page=True)
    assert off_loop(lambda: cart_status(cart)) == "checkout"
    assert off_loop(lambda: Order.objects.count()) == 0

    # After all that, a good card still pays, once.
    fill_card(page, "4242424242424242")
    pay.click()
    page.wait_for_url(f"{base}/checkout/complete/", timeout=30_000)
    assert off_loop(lambda: Order.objects.filter(cart_id=cart.pk).count()) == 1


def test_the_payment_service_being_away_is_said_plainly(cart_at_payment, browser_stripe, live_server, chromium):  # noqa: F811
    """The shop's API answering 5xx (Stripe unreachable) and the network failing: each a
    sentence of the page's own, never a raw status."""
    _, client = cart_at_payment
    base = live_server.url
    page = open_page(chromium, live_server, DESKTOP, client)
    page.route("**/api/v1/carts/*/payment/", lambda route: route.fulfill(status=502, content_type="text/html", body="<h1>Bad Gateway</h1>"))
    page.goto(f"{base}/checkout/payment/")
    page.get_by_label("Card number").wait_for()
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name=PAY).click()
    problem = page.locator("#payment-problem")
    problem.wait_for(state="visible", timeout=30_000)
    assert problem.inner_text().strip() == (
        "The payment service is not answering just now. Nothing was charged; please try again in a moment."
    )

    page.unroute("**/api/v1/carts/*/payment/")
    page.route("**/api/v1/carts/*/payment/", lambda route: route.abort("connectionreset"))
    page.get_by_role("button", name=PAY).click()
    page.wait_for_function("document.getElementById('payment-problem').innerText.includes('connection')")
    assert problem.inner_text().strip() == (
        "We could not reach the shop or the payment provider. Check your connection and try again; you will not be charged twice."
    )


@pytest.fixture
def signed_in_at_payment(storefront, ready_cart):  # noqa: F811
    """A signed-in customer's cart at the payment step (so "Save this card" is offered)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from cart.models import Cart
    from tests.support.pages import use_cart

    user = get_user_model().objects.create_user(username="grace@example.com", email="grace@example.com", password="correct horse battery")
    cart = ready_cart({storefront: 1}, shipping_method="standard", email="grace@example.com")
    Cart.objects.filter(pk=cart.pk).update(user=user)
    client = Client()
    client.force_login(user)
    use_cart(client, cart)
    return cart, client


@pytest.mark.parametrize("card", [CARD_3DS, CARD_3DS_ONE_OFF])
def test_saving_a_new_card_that_needs_3d_secure_is_challenged_once(card, signed_in_at_payment, browser_stripe, live_server, chromium):
    """"Save this card for next time": the card is saved to the customer before the
    payment (no SetupIntent), so the payment's 3-D Secure check is the only one."""
    from payments import customers

    cart, client = signed_in_at_payment
    base = live_server.url
    page = open_page(chromium, live_server, PHONE, client)
    page.add_init_script(COUNT_CHALLENGES)
    page.goto(f"{base}/checkout/payment/")
    page.get_by_label("Card number").wait_for()
    fill_card(page, card)
    page.get_by_label("Save this card for next time").check()
    page.get_by_role("button", name=PAY).click()
    page.get_by_role("button", name="Complete authentication").click(timeout=30_000)
    page.wait_for_url(f"{base}/checkout/complete/", timeout=30_000)
    page.get_by_role("heading", name="Thank you, your order is placed").wait_for()

    assert page.evaluate("sessionStorage.getItem('challenges')") == "1"
    order = off_loop(lambda: Order.objects.get(cart_id=cart.pk))
    assert order.total == Money(Decimal("24.98"), "USD")  # 19.99 + 4.99
    user_id = off_loop(lambda: cart.__class__.objects.get(pk=cart.pk).user_id)
    customer_id = off_loop(lambda: customers.customer_id_of(user_id=user_id))
    intent = stripe.PaymentIntent.retrieve(off_loop(lambda: paid_intent(cart)).stripe_payment_intent_id)
    assert (intent.status, intent.amount, intent.currency, intent.customer) == ("succeeded", 2498, "usd", customer_id)
    [saved] = off_loop(lambda: customers.saved_cards(user_id=user_id))
    assert (saved.payment_method_id, saved.last4, saved.expiry) == (intent.payment_method, card[-4:], "12/34")


def test_a_card_its_bank_will_not_save_is_said_plainly_and_charges_nothing(signed_in_at_payment, browser_stripe, live_server, chromium):
    """4000 0000 0000 0002 is refused when attached to a customer (localstripe): the
    shopper reads the shop's sentence next to the card, and no payment is even begun."""
    from payments import customers

    cart, client = signed_in_at_payment
    base = live_server.url
    page = open_page(chromium, live_server, PHONE, client)
    page.goto(f"{base}/checkout/payment/")
    page.get_by_label("Card number").wait_for()
    fill_card(page, "4000000000000002")
    page.get_by_label("Save this card for next time").check()
    page.get_by_role("button", name=PAY).click()
    message = shown_error(page)
    assert_plain(message)
    assert message == "Your card was declined. Nothing was charged. Try another card, or contact your bank."
    page.screenshot(path=str(SHOTS / "payment-save-refused-375.png"), full_page=True)

    assert off_loop(lambda: cart_status(cart)) == "checkout"
    assert off_loop(lambda: Order.objects.count()) == 0 and off_loop(lambda: Payment.objects.count()) == 0
    assert stripe.PaymentIntent.list().data == []
    user_id = off_loop(lambda: cart.__class__.objects.get(pk=cart.pk).user_id)
    assert off_loop(lambda: customers.saved_cards(user_id=user_id)) == []


def test_a_refused_check_of_a_card_being_saved_is_said_plainly(signed_in_at_payment, browser_stripe, live_server, chromium):
    """The one 3-D Secure check of a card being saved is the payment's: refused, the
    shopper reads the shop's sentence, not localstripe's, and nothing is charged."""
    cart, client = signed_in_at_payment
    base = live_server.url
    page = open_page(chromium, live_server, PHONE, client)
    page.goto(f"{base}/checkout/payment/")
    page.get_by_label("Card number").wait_for()
    fill_card(page, CARD_3DS)
    page.get_by_label("Save this card for next time").check()
    page.get_by_role("button", name=PAY).click()
    page.get_by_role("button", name="Fail authentication").click(timeout=30_000)
    page.wait_for_function("document.getElementById('card-errors').innerText.includes('did not confirm')")
    message = shown_error(page)
    assert_plain(message)
    assert message == "Your bank did not confirm the payment, so nothing was charged. Try again or use another card."
    assert off_loop(lambda: cart_status(cart)) == "checkout"
    assert off_loop(lambda: Order.objects.count()) == 0
