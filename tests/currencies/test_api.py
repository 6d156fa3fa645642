"""Currencies through the JSON API (docs/api.md), the rate fixed at checkout, amounts a client
sends ignored, and the page, the API cart and the Stripe amount agreeing."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import pytest
from django.test import Client
from moneyed import Money

from cart import services as cart_services
from cart.models import Cart
from cart.pricing import price_cart
from cart.session import SESSION_KEY as CART_SESSION_KEY
from catalog.models import Product
from currencies import rates
from currencies import services as rate_services
from currencies.money import format_money, minor_units, stripe_amount
from tests.support.rates import KNOWN, store_rates
from checkout import services as checkout_services

ALL = ("USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "KWD")


@pytest.fixture
def shirt(make_variant, known_rates):
    product = Product.objects.create(slug="linen-shirt", name="Linen shirt")
    return make_variant("SHIRT", price="19.99", on_hand=50, product=product)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


# --- GET /api/v1/currencies/ -------------------------------------------------------------

def test_currencies_endpoint_shape(api, known_rates):
    response = api.get("/api/v1/currencies/")

    assert response.status_code == 200
    body = response.json()
    assert body["base"] == "USD"
    assert [row["code"] for row in body["currencies"]] == list(ALL)
    by_code = {row["code"]: row for row in body["currencies"]}
    assert by_code["USD"]["rate"] == "1"
    for code, rate in KNOWN.items():
        assert Decimal(by_code[code]["rate"]) == Decimal(rate)
        assert datetime.fromisoformat(by_code[code]["updated_at"]).tzinfo is not None
    assert {"code", "rate", "updated_at"} <= set(by_code["KWD"])


# --- ?currency= on the catalog --------------------------------------------------------------

@pytest.mark.parametrize(
    "query, amount, currency",
    [
        ("", "19.99", "USD"),
        ("?currency=EUR", "18.42", "EUR"),  # 19.99 x 0.9215 = 18.420785
        ("?currency=eur", "18.42", "EUR"),
        ("?currency=JPY", "3026", "JPY"),  # 3025.8863
        ("?currency=KWD", "6.150", "KWD"),  # 6.146925 -> 10-fils step
        ("?currency=SEK", "209.03", "SEK"),  # 209.029433
    ],
)
def test_catalog_prices_convert_to_the_asked_currency(api, shirt, query, amount, currency):
    listing = api.get(f"/api/v1/products/{query}")
    detail = api.get(f"/api/v1/products/linen-shirt/{query}")

    assert listing.status_code == detail.status_code == 200
    assert listing.json()["results"][0]["variants"][0]["price"] == {"amount": amount, "currency": currency}
    assert detail.json()["variants"][0]["price"] == {"amount": amount, "currency": currency}


@pytest.mark.parametrize("code", ["XYZ", "BTC", "", "EURO"])
def test_catalog_refuses_an_unsupported_currency(api, shirt, code):
    assert_error(api.get(f"/api/v1/products/?currency={code}"), 400, "unsupported_currency")
    assert_error(api.get(f"/api/v1/products/linen-shirt/?currency={code}"), 400, "unsupported_currency")


# --- carts ---------------------------------------------------------------------------------

def test_cart_created_in_a_currency_prices_its_lines_in_it(api, shirt):
    cart = api.post("/api/v1/carts/", {"currency": "EUR"}).json()

    response = api.post(f"/api/v1/carts/{cart['id']}/lines/", {"sku": "SHIRT", "quantity": 3})

    body = response.json()
    assert response.status_code == 201
    assert body["currency"] == "EUR"
    assert body["lines"][0]["unit_price"] == {"amount": "18.42", "currency": "EUR"}
    assert body["lines"][0]["line_total"] == {"amount": "55.26", "currency": "EUR"}
    assert body["total"] == {"amount": "55.26", "currency": "EUR"}


@pytest.mark.parametrize("currency", ["XYZ", "usdollar", 978, "", ["EUR"]])
def test_unsupported_cart_currency_is_400_and_creates_nothing(api, known_rates, currency):
    before = Cart.objects.count()

    error = assert_error(api.post("/api/v1/carts/", {"currency": currency}), 400, "unsupported_currency")

    assert "currency" in error["details"]
    assert Cart.objects.count() == before


def test_patching_the_currency_reprices_the_cart(api, shirt):
    cart = api.post("/api/v1/carts/", {}).json()
    api.post(f"/api/v1/carts/{cart['id']}/lines/", {"sku": "SHIRT", "quantity": 2})

    body = api.patch(f"/api/v1/carts/{cart['id']}/", {"currency": "KWD"}).json()

    assert body["currency"] == "KWD"
    assert body["total"] == {"amount": "12.300", "currency": "KWD"}  # 2 x 6.150
    assert_error(api.patch(f"/api/v1/carts/{cart['id']}/", {"currency": "XYZ"}), 400, "unsupported_currency")
    assert Cart.objects.get(pk=cart["id"]).currency == "KWD"


# --- the rate is fixed when checkout starts ---------------------------------------------------

def test_checkout_fixes_the_rate_so_later_rates_do_not_move_the_quote(api, shirt):
    cart = api.post("/api/v1/carts/", {"currency": "EUR"}).json()
    api.post(f"/api/v1/carts/{cart['id']}/lines/", {"sku": "SHIRT", "quantity": 3})

    started = api.post(f"/api/v1/carts/{cart['id']}/checkout/").json()
    store_rates({"EUR": "0.9500"})

    assert Cart.objects.get(pk=cart["id"]).exchange_rate == Decimal("0.9215")
    again = api.get(f"/api/v1/carts/{cart['id']}/").json()
    assert started["total"] == again["total"] == {"amount": "55.26", "currency": "EUR"}
    assert rates.current_rate("EUR") == Decimal("0.9500")
    assert api.get("/api/v1/products/linen-shirt/?currency=EUR").json()["variants"][0]["price"]["amount"] == "18.99"


def test_override_after_checkout_start_does_not_move_the_quote_either(api, shirt):
    cart = cart_services.create_cart(currency="KWD")
    cart_services.add_line(cart_id=cart.pk, sku="SHIRT", quantity=1)
    checkout_services.start_checkout(cart_id=cart.pk)

    rate_services.set_rate_override(currency="KWD", rate="0.5000", user_id=None)

    assert api.get(f"/api/v1/carts/{cart.pk}/").json()["total"] == {"amount": "6.150", "currency": "KWD"}


def test_cancelled_checkout_takes_todays_rate_again(api, shirt):
    cart = api.post("/api/v1/carts/", {"currency": "EUR"}).json()
    api.post(f"/api/v1/carts/{cart['id']}/lines/", {"sku": "SHIRT", "quantity": 1})
    api.post(f"/api/v1/carts/{cart['id']}/checkout/")
    store_rates({"EUR": "0.9500"})

    body = api.delete(f"/api/v1/carts/{cart['id']}/checkout/").json()

    assert body["total"] == {"amount": "18.99", "currency": "EUR"}  # 19.99 x 0.95 = 18.9905
    assert Cart.objects.get(pk=cart["id"]).exchange_rate is None


def test_currency_cannot_change_during_checkout(api, shirt):
    cart = api.post("/api/v1/carts/", {"currency": "EUR"}).json()
    api.post(f"/api/v1/carts/{cart['id']}/lines/", {"sku": "SHIRT", "quantity": 1})
    api.post(f"/api/v1/carts/{cart['id']}/checkout/")

    assert_error(api.patch(f"/api/v1/carts/{cart['id']}/", {"currency": "JPY"}), 409, "cart_not_active")
    assert Cart.objects.get(pk=cart["id"]).currency == "EUR"


# --- a client's own amounts are ignored -----------------------------------------------------------

def test_client_prices_totals_and_rates_are_ignored(api, shirt):
    forged = {"amount": "0.01", "currency": "EUR"}
    cart = api.post(
        "/api/v1/carts/",
        {"currency": "EUR", "exchange_rate": "0.0001", "total": forged, "subtotal": forged, "rate": "0.0001"},
    ).json()
    api.post(
        f"/api/v1/carts/{cart['id']}/lines/",
        {"sku": "SHIRT", "quantity": 2, "price": forged, "unit_price": forged, "line_total": forged},
    )
    api.patch(f"/api/v1/carts/{cart['id']}/", {"currency": "EUR", "exchange_rate": "0.0001", "total": forged})
    api.post(f"/api/v1/carts/{cart['id']}/checkout/", {"exchange_rate": "0.0001", "total": forged})

    body = api.patch(
        f"/api/v1/carts/{cart['id']}/checkout/", {"email": "a@example.com", "total": forged, "exchange_rate": "1"}
    ).json()

    assert body["lines"][0]["unit_price"] == {"amount": "18.42", "currency": "EUR"}
    assert body["total"] == {"amount": "36.84", "currency": "EUR"}
    assert Cart.objects.get(pk=cart["id"]).exchange_rate == Decimal("0.9215")


def test_client_currency_on_a_product_query_cannot_lower_the_cart_price(api, shirt):
    cart = api.post("/api/v1/carts/", {"currency": "USD"}).json()

    body = api.post(f"/api/v1/carts/{cart['id']}/lines/?currency=JPY", {"sku": "SHIRT", "quantity": 1}).json()

    assert body["total"] == {"amount": "19.99", "currency": "USD"}


# --- the page, the API cart and Stripe agree -----------------------------------------------------

@pytest.mark.parametrize("currency", ALL)
def test_page_api_and_stripe_amount_agree(make_variant, api, known_rates, currency):
    product = Product.objects.create(slug="mixed", name="Mixed")
    for sku, price, quantity in (("A", "19.99", 3), ("B", "0.99", 7), ("C", "1234.56", 1)):
        make_variant(sku, price=price, on_hand=20, product=product)
    cart = api.post("/api/v1/carts/", {"currency": currency}).json()
    for sku, quantity in (("A", 3), ("B", 7), ("C", 1)):
        api.post(f"/api/v1/carts/{cart['id']}/lines/", {"sku": sku, "quantity": quantity})
    api.post(f"/api/v1/carts/{cart['id']}/checkout/")

    api_total = api.get(f"/api/v1/carts/{cart['id']}/").json()["total"]
    browser = Client()
    session = browser.session
    session[CART_SESSION_KEY] = cart["id"]
    session.save()
    page = browser.get("/cart/").content.decode()
    charged = stripe_amount(price_cart(Cart.objects.get(pk=cart["id"])).total)

    shown = format_money(Money(Decimal(api_total["amount"]), currency), "en_US")
    assert re.search(rf"<dt>Total</dt><dd>{re.escape(shown)}</dd>", page)
    assert api_total["currency"] == currency
    assert charged == int(Decimal(api_total["amount"]).scaleb(minor_units(currency)))
    assert charged == sum(
        stripe_amount(Money(Decimal(line["line_total"]["amount"]), currency))
        for line in api.get(f"/api/v1/carts/{cart['id']}/").json()["lines"]
    )


def test_a_rate_reads_the_same_in_the_cart_the_order_and_the_currencies_list(api, shirt):
    cart = api.post("/api/v1/carts/", {"currency": "EUR"}).json()
    api.post(f"/api/v1/carts/{cart['id']}/lines/", {"sku": "SHIRT", "quantity": 1})
    in_checkout = api.post(f"/api/v1/carts/{cart['id']}/checkout/").json()
    listed = {row["code"]: row["rate"] for row in api.get("/api/v1/currencies/").json()["currencies"]}

    stored = Cart.objects.get(pk=cart["id"]).exchange_rate  # as the column keeps it: 0.9215000000

    assert in_checkout["exchange_rate"] == listed["EUR"] == rates.rate_json(stored) == KNOWN["EUR"] == "0.9215"
    assert rates.rate_json(Decimal("151.3700000000")) == "151.37" and rates.rate_json(Decimal("1")) == "1"
    assert rates.rate_json(Decimal("100.0000000000")) == "100"  # never "1E+2"
