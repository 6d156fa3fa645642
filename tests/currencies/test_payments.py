"""One checkout in each currency, paid at localstripe: the "Pay" amount on the payment page,
the API cart, the PaymentIntent, the order and its email agree to the minor unit
(invariants 5-8). Also: totals show their currency code once, refunds go in the
currency's price step."""
from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
import stripe
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from moneyed import Money

from cart.models import Cart
from cart.session import SESSION_KEY as CART_SESSION_KEY
from orders.models import Order
from payments.models import Refund
from tests.support.rates import KNOWN
from tests.support.stripe_fixtures import CARD_OK, start_paying
from tests.support.shipping import make_method

# 2 x a 17.07 USD lamp + 7.50 USD express shipping at the KNOWN rates (tests/support/rates.py),
# each converted and rounded half-up to the currency's price step per unit, then summed:
EXPECTED = {
    # currency: (line total, shipping, total, Stripe amount, total as the page shows it in en-US)
    "USD": ("34.14", "7.50", "41.64", 4164, "$41.64"),
    "EUR": ("31.46", "6.91", "38.37", 3837, "€38.37"),  # 15.730005 -> 15.73; 6.91125 -> 6.91
    "GBP": ("26.94", "5.92", "32.86", 3286, "£32.86"),  # 13.46823 -> 13.47; 5.9175 -> 5.92
    "JPY": ("5168", "1135", "6303", 6303, "¥6,303"),  # 2583.8859 -> 2584; 1135.275 -> 1135
    "KWD": ("10.500", "2.310", "12.810", 12810, "KWD\xa012.810"),  # 5.249025 -> 5.250; 2.30625 -> 2.310 (10-fils step)
}


@pytest.fixture
def lamp(make_variant, known_rates):
    make_method(code="express", name="Express", price=Money(Decimal("7.50"), "USD"))
    return make_variant("LAMP-1", price="17.07", on_hand=10)


def browser_on(cart: Cart, **headers) -> Client:
    """A browser whose session holds `cart`, as after adding to it on the site."""
    client = Client(**headers)
    session = client.session
    session[CART_SESSION_KEY] = str(cart.pk)
    session.save()
    return client


def flat(value: str) -> str:
    """Whitespace (no-break spaces too) as single spaces."""
    return " ".join(value.split())


def text(response) -> str:
    """The page's visible text, tags dropped, entities and whitespace normalized."""
    return flat(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def checkout_in(currency: str, api, make_cart, lamp) -> Cart:
    cart = make_cart({lamp: 2}, currency=currency)
    start_paying(api, cart.pk, shipping_method="express")
    return Cart.objects.get(pk=cart.pk)


def pay(api, cart: Cart, payment_method: str):
    return api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": payment_method})


@pytest.mark.parametrize("currency", list(EXPECTED))
def test_page_api_stripe_order_and_email_agree(
    currency, api, stripe_emulator, make_cart, lamp, mailoutbox, django_capture_on_commit_callbacks
):
    line_total, shipping, total, stripe_amount, shown = EXPECTED[currency]
    cart = checkout_in(currency, api, make_cart, lamp)

    # The API cart.
    body = api.get(f"/api/v1/carts/{cart.pk}/").json()
    assert body["currency"] == currency
    assert body["lines"][0]["line_total"] == {"amount": line_total, "currency": currency}
    assert body["shipping"] == {"amount": shipping, "currency": currency}
    assert body["total"] == {"amount": total, "currency": currency}
    # The payment page's button and summary.
    page = browser_on(cart).get("/checkout/payment/")
    assert page.status_code == 200
    assert f"Pay {flat(shown)}" in text(page)
    summary_total = re.search(r'<dd data-total="([^"]+)">(.*?)</dd>', page.content.decode(), re.S)
    assert summary_total.group(1) == total
    assert shown in unescape(summary_total.group(2))
    # Stripe: the intent localstripe holds, then the card payment.
    with django_capture_on_commit_callbacks(execute=True):
        paid = pay(api, cart, stripe_emulator.payment_method(CARD_OK))
    assert paid.status_code == 200, paid.content
    result = paid.json()
    assert (result["status"], result["cart"]["status"]) == ("succeeded", "completed")
    assert result["amount"] == {"amount": total, "currency": currency}
    intent = stripe.PaymentIntent.retrieve(result["payment_intent_id"])
    assert (int(intent.amount), intent.currency, intent.status) == (stripe_amount, currency.lower(), "succeeded")
    # The order.
    order = Order.objects.get(cart=cart)
    assert (order.currency, order.total.amount, order.total.currency.code) == (currency, Decimal(total), currency)
    assert order.exchange_rate == Decimal(KNOWN.get(currency, "1"))
    assert order.shipping.amount == Decimal(shipping)
    assert [(line.quantity, line.line_total.amount) for line in order.lines.all()] == [(2, Decimal(line_total))]
    assert order.payments.get().amount == stripe_amount
    # The confirmation email.
    [email] = mailoutbox
    assert f"Total: {flat(shown)}" in flat(email.body)


@pytest.mark.parametrize(
    "accept_language, total, shipping, line",
    [
        ("en-US", "Total:    €38.37", "Shipping: €6.91", "€15.73 each, €31.46"),
        ("de-DE", "Gesamt:    38,37 €", "Versand: 6,91 €", "je 15,73 €, 31,46 €"),
        # French: a no-break space before the colon (made a plain one below).
        ("fr-FR,fr;q=0.9", "Total :    38,37 €", "Livraison : 6,91 €", "15,73 € l’unité, 31,46 €"),
    ],
)
def test_email_amounts_follow_the_orders_language_not_the_browsers_region(
    accept_language, total, shipping, line, api, stripe_emulator, make_cart, lamp, mailoutbox, django_capture_on_commit_callbacks
):
    # The order stores the shopper's language (not their browser's region) and webhooks
    # carry none: emails format amounts for that language (orders.emails.EMAIL_MONEY_LOCALES),
    # with the currency's own symbol and minor units. (Before orders stored a language, every
    # email was English with en_US formatting.)
    cart = checkout_in("EUR", api, make_cart, lamp)

    with django_capture_on_commit_callbacks(execute=True):
        paid = api.post(
            f"/api/v1/carts/{cart.pk}/payment/",
            {"payment_method": stripe_emulator.payment_method(CARD_OK)},
            HTTP_ACCEPT_LANGUAGE=accept_language,
        )

    assert paid.status_code == 200, paid.content
    [email] = mailoutbox
    body = email.body.replace("\xa0", " ").replace("\u202f", " ")
    assert total in body
    assert shipping in body
    assert line in body


# --- the currency code after a total, once --------------------------------------------------

@pytest.mark.parametrize(
    "currency, accept_language, total_text",
    [
        ("KWD", "en-US", "Total KWD 12.810"),  # the symbol is the code: not "KWD 12.810 KWD"
        ("KWD", "de-DE", "Gesamt 12,810 KWD"),  # the page is in German too
        ("EUR", "en-US", "Total €38.37 EUR"),  # a symbol alone gets its code
        ("USD", "en-US", "Total $41.64 USD"),
        ("JPY", "en-US", "Total ¥6,303 JPY"),
    ],
)
def test_checkout_summary_shows_the_code_once(currency, accept_language, total_text, api, make_cart, lamp):
    cart = checkout_in(currency, api, make_cart, lamp)

    page = text(browser_on(cart, HTTP_ACCEPT_LANGUAGE=accept_language).get("/checkout/payment/"))

    assert total_text in page
    assert f"{total_text} {currency}" not in page


@pytest.mark.parametrize(
    "currency, total_text", [("KWD", "KWD 12.810"), ("EUR", "€38.37 EUR"), ("JPY", "¥6,303 JPY")]
)
def test_order_pages_show_the_code_once(
    currency, total_text, api, stripe_emulator, make_cart, lamp, django_user_model
):
    cart = checkout_in(currency, api, make_cart, lamp)
    assert pay(api, cart, stripe_emulator.payment_method(CARD_OK)).status_code == 200
    order = Order.objects.get(cart=cart)
    customer = django_user_model.objects.create_user("lamp-buyer", password="pw-lamp-buyer")
    Order.objects.filter(pk=order.pk).update(user=customer)
    browser = Client()
    browser.force_login(customer)

    detail = text(browser.get(f"/orders/{order.number}/"))
    listing = text(browser.get("/orders/"))

    assert f"Total {total_text}" in detail and f"Total {total_text} {currency}" not in detail
    assert f"{total_text}" in listing and f"{total_text} {currency}" not in listing


# --- refunds in the currency's price step ---------------------------------------------------

@pytest.fixture
def staff(db) -> Client:
    user = get_user_model().objects.create_superuser("refunds-boss", "boss@example.com", "pw-12345678")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def kwd_order(api, stripe_emulator, make_cart, lamp) -> Order:
    cart = checkout_in("KWD", api, make_cart, lamp)
    assert pay(api, cart, stripe_emulator.payment_method(CARD_OK)).status_code == 200
    return Order.objects.get(cart=cart)


def refunded_at_stripe(order: Order) -> int:
    intent = stripe.PaymentIntent.retrieve(order.payments.get().stripe_payment_intent_id)
    return sum(int(r.amount) for r in stripe.Refund.list(charge=intent.latest_charge.id).data)


@pytest.mark.parametrize("amount", ["1.005", "0.001", "12.809"])
def test_kwd_refund_off_the_ten_fils_step_is_refused_and_says_why(staff, kwd_order, amount):
    url = reverse("admin:orders_order_refund", args=[kwd_order.pk])

    response = staff.post(url, {"amount": amount, "reason": "requested_by_customer"})

    assert response.status_code == 200
    assert "Refunds in KWD go in steps of KWD 0.010, as its prices do" in text(response)
    assert response.context["form"].errors["amount"][0].startswith("Refunds in KWD go in steps of KWD\xa00.010")
    assert not Refund.objects.exists()
    assert refunded_at_stripe(kwd_order) == 0


def test_kwd_refund_on_the_step_goes_through(staff, kwd_order):
    url = reverse("admin:orders_order_refund", args=[kwd_order.pk])

    response = staff.post(url, {"amount": "1.010", "reason": "requested_by_customer"}, follow=True)

    assert "Refunded KWD 1.010" in text(response)
    assert list(Refund.objects.values_list("amount", "status")) == [(1010, "succeeded")]
    assert refunded_at_stripe(kwd_order) == 1010


@pytest.mark.parametrize("currency, amount, step", [("JPY", "100.5", "¥1"), ("EUR", "1.001", "€0.01")])
def test_refund_steps_of_other_currencies(staff, api, stripe_emulator, make_cart, lamp, currency, amount, step):
    cart = checkout_in(currency, api, make_cart, lamp)
    assert pay(api, cart, stripe_emulator.payment_method(CARD_OK)).status_code == 200
    order = Order.objects.get(cart=cart)

    response = staff.post(reverse("admin:orders_order_refund", args=[order.pk]), {"amount": amount, "reason": "other"})

    assert f"Refunds in {currency} go in steps of {step}, as its prices do" in text(response)
    assert not Refund.objects.exists()
