"""Tax, shipping zones and discount codes on the shopper's pages (Django's test client).

The cart page's discount code field applies and removes a code and says next to the field
why one does not apply, changing nothing. The totals block of the cart page, of every
checkout step, of the confirmation, of the order page and of the confirmation email agree
to the cent with cart.pricing.price_cart and with the order's snapshot: US style (sales
tax added, CA 7.25%) and EU style (VAT 19% included, PRICES_INCLUDE_TAX). The address step
offers only countries the shop ships to; the shipping step shows each method's price (or
"Free"), the free-shipping threshold and the delivery window.
"""
from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client
from moneyed import Money

from cart.models import Cart
from cart.pricing import price_cart
from catalog.models import Product
from currencies.money import format_money
from discounts.models import DiscountCode
from orders.models import Order
from taxes.models import TaxRate
from tests.support.pages import use_cart
from tests.support.rates import store_rates
from tests.support.shipping import make_method, make_zone
from tests.support.stripe_fixtures import CARD_OK

US_ADDRESS = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "Los Angeles", "region": "CA", "postal_code": "90001", "country": "US"}
DE_ADDRESS = {"name": "Ada Lovelace", "line1": "Unter den Linden 1", "city": "Berlin", "region": "", "postal_code": "10117", "country": "DE"}


def address_form(address: dict[str, str], email: str = "ada@example.com") -> dict[str, str]:
    form = {f"shipping-{key}": value for key, value in address.items()}
    return {**form, "shipping-line2": "", "email": email, "billing_same": "on"}


def flat(text: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", text)).split())


def totals_rows(response) -> list[tuple[str, str]]:
    """The (label, amount) rows of the page's totals block, as a shopper reads them."""
    html = response.content.decode()
    block = re.search(r'<dl class="summary-totals">(.*?)</dl>', html, re.S) or re.search(
        r'<section class="cart-totals".*?<dl>(.*?)</dl>', html, re.S
    )
    assert block, "no totals block on the page"
    return [(flat(dt), flat(dd)) for dt, dd in re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", block.group(1), re.S)]


def shown(money: Money) -> str:
    return format_money(money, "en_US")


def field_error(response, field_id: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{field_id}-error"[^>]*>(.*?)</p>', response.content.decode(), re.S)
    return flat(found.group(1)) if found else None


def code(text: str, kind: str = "percent", value: str | None = "10", **fields) -> DiscountCode:
    return DiscountCode.objects.create(code=text, kind=kind, value=Decimal(value) if value else None, **fields)


@pytest.fixture
def shirt(db, make_variant):
    product = Product.objects.create(slug="linen-shirt", name="Linen shirt")
    return make_variant("SHIRT-M", price="30.00", on_hand=50, product=product, size="M")


@pytest.fixture
def us_shop(db, shirt):
    """The shop ships to the US only (standard $5 in 3–5 days, free from $100; express $15
    in 1–2 days) and charges CA sales tax, 7.25%, not on shipping. Codes: SAVE10 (10% off),
    SAVE15 (15% off from a $100 subtotal), LAMPS10 (10% off lamps only)."""
    zone = make_zone("United States", ["US"])
    make_method(code="standard", name="Standard", price="5.00", free_over="100.00", min_days=3, max_days=5, zone=zone, position=1)
    make_method(code="express", name="Express", price="15.00", min_days=1, max_days=2, zone=zone, position=2)
    TaxRate.objects.create(country="US", region="CA", name="Sales tax", rate=Decimal("7.25"), shipping_taxable=False)
    code("SAVE10")
    code("SAVE15", value="15", min_subtotal_usd=Decimal("100.00"))
    lamps = code("LAMPS10")
    lamps.products.add(Product.objects.create(slug="lamp", name="Lamp"))
    return zone


@pytest.fixture
def shopper(us_shop, shirt, make_cart, client):
    """A browser whose cart holds 3 x the $30 shirt."""
    cart = make_cart({shirt: 3})
    use_cart(client, cart)
    return client, cart


def current(cart: Cart) -> Cart:
    return Cart.objects.get(pk=cart.pk)


# --- the cart page's discount code field -------------------------------------------------


def test_the_cart_page_applies_a_code_and_shows_what_it_takes_off(shopper):
    client, cart = shopper

    response = client.post("/cart/discount/", {"code": " save10 "})

    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert current(cart).discount_code == "SAVE10"
    page = client.get("/cart/")
    assert ("Discount (SAVE10)", "−$9.00") in totals_rows(page)
    assert ("Total", "$81.00") in totals_rows(page)
    html = flat(page.content.decode())
    assert "Discount code SAVE10 applied." in html  # the message after the redirect
    assert "Code SAVE10 applied: −$9.00" in html
    assert 'action="/cart/discount/remove/"' in page.content.decode()


@pytest.mark.parametrize(
    "typed, sentence",
    [
        ("NOPE", "There is no discount code NOPE."),
        ("save15", "The discount code SAVE15 needs a subtotal of at least $100.00."),
        ("LAMPS10", "The discount code LAMPS10 is for items that are not in your cart."),
    ],
    ids=["unknown", "minimum_not_met", "not_in_cart"],
)
def test_a_code_that_does_not_apply_is_explained_next_to_the_field_and_changes_nothing(shopper, typed, sentence):
    client, cart = shopper
    client.post("/cart/discount/", {"code": "SAVE10"})

    response = client.post("/cart/discount/", {"code": typed})

    assert response.status_code == 400
    assert field_error(response, "discount-code") == sentence
    html = response.content.decode()
    assert re.search(rf'id="discount-code" name="code" value="{typed}"', html)  # what was typed is kept
    assert 'aria-invalid="true" aria-describedby="discount-code-error"' in html
    assert current(cart).discount_code == "SAVE10"  # the code applied before stays
    assert ("Discount (SAVE10)", "−$9.00") in totals_rows(response)


def test_an_empty_code_is_asked_for_and_changes_nothing(shopper):
    client, cart = shopper
    client.post("/cart/discount/", {"code": "SAVE10"})

    response = client.post("/cart/discount/", {"code": "  "})

    assert response.status_code == 400
    assert field_error(response, "discount-code") == "Enter a discount code."
    assert current(cart).discount_code == "SAVE10"


def test_the_cart_page_removes_the_code(shopper):
    client, cart = shopper
    client.post("/cart/discount/", {"code": "SAVE10"})

    response = client.post("/cart/discount/remove/")

    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert current(cart).discount_code == ""
    page = client.get("/cart/")
    assert [label for label, _ in totals_rows(page)] == ["Subtotal", "Shipping", "Tax", "Total"]
    assert ("Total", "$90.00") in totals_rows(page)
    assert "Discount code removed." in flat(page.content.decode())
    assert "/cart/discount/remove/" not in page.content.decode()


def test_a_code_that_stopped_applying_says_why_next_to_the_field(shopper, shirt):
    client, cart = shopper
    line = cart.lines.get()
    client.post(f"/cart/lines/{line.pk}/", {"quantity": "4"})
    assert client.post("/cart/discount/", {"code": "SAVE15"}).status_code == 302  # $120: it applies

    client.post(f"/cart/lines/{line.pk}/", {"quantity": "3"})  # $90 now
    page = client.get("/cart/")

    html = page.content.decode()
    assert re.search(
        r'<p class="field-error" id="discount-code-status">The discount code SAVE15 needs a subtotal of at least \$100.00.</p>', html
    )
    assert 'aria-label="Remove discount code SAVE15"' in html
    assert [label for label, _ in totals_rows(page)] == ["Subtotal", "Shipping", "Tax", "Total"]
    assert ("Total", "$90.00") in totals_rows(page)


def test_the_discount_forms_need_the_csrf_token(shopper):
    _, cart = shopper
    browser = Client(enforce_csrf_checks=True)
    use_cart(browser, cart)

    assert browser.post("/cart/discount/", {"code": "SAVE10"}).status_code == 403
    assert browser.post("/cart/discount/remove/").status_code == 403
    assert current(cart).discount_code == ""


def test_the_discount_field_is_labelled(shopper):
    client, _ = shopper
    html = client.get("/cart/").content.decode()
    assert '<label for="discount-code">Discount code</label>' in html
    assert re.search(r'<button type="submit" class="button">Apply</button>', html)


# --- totals everywhere, US style: sales tax added ------------------------------------------


def go_through_checkout(client: Client, address: dict[str, str], method: str) -> dict[str, object]:
    """Cart page -> checkout -> address -> shipping -> payment: each page as shown."""
    pages = {"cart": client.get("/cart/")}
    assert client.post("/cart/checkout/").status_code == 302
    pages["address"] = client.get("/checkout/address/")
    assert client.post("/checkout/address/", address_form(address)).status_code == 302
    pages["shipping"] = client.get("/checkout/shipping/")
    assert client.post("/checkout/shipping/", {"shipping_method": method}).status_code == 302
    pages["payment"] = client.get("/checkout/payment/")
    pages["cart in checkout"] = client.get("/cart/")
    return pages


def pay(api, cart: Cart, stripe_emulator, capture) -> Order:
    with capture(execute=True):
        response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method(CARD_OK)})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "succeeded"
    return Order.objects.get(cart=cart)


def test_us_totals_agree_on_every_page_and_in_the_email(
    shopper, api, stripe_emulator, mailoutbox, django_capture_on_commit_callbacks
):
    client, cart = shopper
    client.post("/cart/discount/", {"code": "SAVE10"})

    pages = go_through_checkout(client, US_ADDRESS, "standard")

    # 3 x $30 = $90, 10% off = $9; standard shipping $5 (not free under $100);
    # CA sales tax 7.25% of $81 = $5.8725 -> $5.87 (shipping untaxed); total $91.87.
    assert totals_rows(pages["cart"]) == [
        ("Subtotal", "$90.00"), ("Discount (SAVE10)", "−$9.00"),
        ("Shipping", "Calculated at checkout"), ("Tax", "Calculated at checkout"), ("Total", "$81.00"),
    ]
    assert totals_rows(pages["address"]) == [
        ("Subtotal", "$90.00"), ("Discount (SAVE10)", "−$9.00"),
        ("Shipping", "Not chosen yet"), ("Tax", "Calculated from your address"), ("Total", "$81.00 USD"),
    ]
    assert totals_rows(pages["shipping"]) == [
        ("Subtotal", "$90.00"), ("Discount (SAVE10)", "−$9.00"),
        ("Shipping", "Not chosen yet"), ("Sales tax 7.25%", "$5.87"), ("Total", "$86.87 USD"),
    ]
    paying = [
        ("Subtotal", "$90.00"), ("Discount (SAVE10)", "−$9.00"),
        ("Shipping (Standard)", "$5.00"), ("Sales tax 7.25%", "$5.87"), ("Total", "$91.87 USD"),
    ]
    assert totals_rows(pages["payment"]) == paying
    assert totals_rows(pages["cart in checkout"]) == [(label, amount.removesuffix(" USD")) for label, amount in paying]
    assert "Pay $91.87" in flat(pages["payment"].content.decode())
    # ... which is what the one totals function says.
    totals = price_cart(current(cart))
    assert (totals.subtotal, totals.discount, totals.shipping, totals.total) == (
        Money("90.00", "USD"), Money("9.00", "USD"), Money("5.00", "USD"), Money("91.87", "USD")
    )
    assert [(line.label, shown(line.amount)) for line in totals.tax_lines] == [("Sales tax 7.25%", "$5.87")]

    order = pay(api, current(cart), stripe_emulator, django_capture_on_commit_callbacks)

    assert order.total == totals.total and order.tax == Money("5.87", "USD") and order.discount_code == "SAVE10"
    confirmation = client.get("/checkout/complete/")
    order_page = Client().get(f"/orders/{order.number}/?token={order.access_token}")
    assert totals_rows(confirmation) == paying
    assert totals_rows(order_page) == paying
    [email] = mailoutbox
    assert (
        "Subtotal: $90.00\nDiscount (SAVE10): -$9.00\nShipping: $5.00 (Standard)\nSales tax 7.25%: $5.87\nTotal:    $91.87\n"
        in email.body
    )
    html_email = flat(email.alternatives[0][0])
    assert "Subtotal $90.00 Discount (SAVE10) −$9.00 Shipping (Standard) $5.00 Sales tax 7.25% $5.87 Total $91.87" in html_email


# --- totals everywhere, EU style: VAT included ----------------------------------------------


@pytest.fixture
def de_shopper(settings, shirt, make_cart, client):
    """Prices include tax; a shopper paying in euros (0.9215 per USD) for 3 shirts, the
    shop shipping to Germany (DHL Paket, $5) with VAT 19%, on shipping too."""
    settings.PRICES_INCLUDE_TAX = True
    store_rates({"EUR": "0.9215"})
    make_method(code="dhl", name="DHL Paket", price="5.00", min_days=1, max_days=3, zone=make_zone("Germany", ["DE"]))
    TaxRate.objects.create(country="DE", name="VAT", rate=Decimal("19.00"), shipping_taxable=True)
    code("SAVE10")
    cart = make_cart({shirt: 3}, currency="EUR")
    use_cart(client, cart)
    return client, cart


def test_eu_totals_include_vat_and_agree_on_every_page_and_in_the_email(
    de_shopper, api, stripe_emulator, mailoutbox, django_capture_on_commit_callbacks
):
    client, cart = de_shopper
    client.post("/cart/discount/", {"code": "SAVE10"})

    pages = go_through_checkout(client, DE_ADDRESS, "dhl")

    # $30 x 0.9215 = €27.645 -> €27.65, x 3 = €82.95; 10% off = €8.295 -> €8.30; shipping
    # $5 -> €4.61. VAT 19% is in the prices: 74.65 x 19/119 = €11.92 on the shirts and
    # 4.61 x 19/119 = €0.74 on shipping, €12.66 in all. The total does not move: €79.26.
    assert totals_rows(pages["cart"]) == [
        ("Subtotal", "€82.95"), ("Discount (SAVE10)", "−€8.30"), ("Shipping", "Calculated at checkout"), ("Total", "€74.65"),
    ]
    assert '<p class="totals-note">Prices include VAT</p>' in pages["cart"].content.decode()
    assert totals_rows(pages["shipping"]) == [
        ("Subtotal", "€82.95"), ("Discount (SAVE10)", "−€8.30"), ("Shipping", "Not chosen yet"),
        ("Total", "€74.65 EUR"), ("Includes VAT 19%", "€11.92"),
    ]
    paying = [
        ("Subtotal", "€82.95"), ("Discount (SAVE10)", "−€8.30"), ("Shipping (DHL Paket)", "€4.61"),
        ("Total", "€79.26 EUR"), ("Includes VAT 19%", "€12.66"),
    ]
    assert totals_rows(pages["payment"]) == paying
    assert "Prices include VAT" not in pages["payment"].content.decode()  # the lines say how much
    assert "Pay €79.26" in flat(pages["payment"].content.decode())
    totals = price_cart(current(cart))
    assert totals.prices_include_tax and totals.total == Money("79.26", "EUR") and totals.tax == Money("12.66", "EUR")
    assert [(line.label, shown(line.amount)) for line in totals.tax_lines] == [("VAT 19%", "€12.66")]

    order = pay(api, current(cart), stripe_emulator, django_capture_on_commit_callbacks)

    assert order.total == totals.total and order.prices_include_tax and order.shipping_method_name == "DHL Paket"
    assert totals_rows(client.get("/checkout/complete/")) == paying
    assert totals_rows(Client().get(f"/orders/{order.number}/?token={order.access_token}")) == paying
    [email] = mailoutbox
    assert (
        "Subtotal: €82.95\nDiscount (SAVE10): -€8.30\nShipping: €4.61 (DHL Paket)\nTotal:    €79.26\n  includes VAT 19%: €12.66\n"
        in email.body
    )
    assert "Tax:" not in email.body
    assert "Total €79.26 Includes VAT 19% €12.66" in flat(email.alternatives[0][0])


# --- the payment step's code field ---------------------------------------------------------


def test_the_payment_step_applies_and_removes_a_code_and_the_pay_button_follows(shopper):
    client, cart = shopper
    go_through_checkout(client, US_ADDRESS, "standard")

    applied = client.post("/checkout/payment/discount/", {"code": "save10"})

    assert applied.status_code == 302 and applied["Location"] == "/checkout/payment/"
    page = client.get("/checkout/payment/")
    assert "Pay $91.87" in flat(page.content.decode())  # 81 + 5 + 5.87
    assert str(price_cart(current(cart)).total.amount) == re.search(r'data-total="([^"]+)"', page.content.decode()).group(1)

    refused = client.post("/checkout/payment/discount/", {"code": "SAVE15"})

    assert refused.status_code == 400
    assert field_error(refused, "discount-code") == "The discount code SAVE15 needs a subtotal of at least $100.00."
    assert "Pay $91.87" in flat(refused.content.decode()) and current(cart).discount_code == "SAVE10"

    removed = client.post("/checkout/payment/discount/remove/")

    assert removed.status_code == 302 and removed["Location"] == "/checkout/payment/"
    assert "Pay $101.53" in flat(client.get("/checkout/payment/").content.decode())  # 90 + 5 + 6.53
    assert current(cart).discount_code == "" and current(cart).status == Cart.Status.CHECKOUT


# --- the address step: only countries the shop ships to -----------------------------------


def test_the_address_step_offers_only_countries_the_shop_ships_to(shopper):
    client, _ = shopper
    client.post("/cart/checkout/")

    html = client.get("/checkout/address/").content.decode()

    shipping_select = re.search(r'<select id="id_shipping_country".*?</select>', html, re.S).group(0)
    billing_select = re.search(r'<select id="id_billing_country".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="(\w*)"', shipping_select) == ["US"]
    assert '<option value="US" selected>United States</option>' in shipping_select  # as addresses write it
    assert '<option value="FR">France</option>' in billing_select  # a card may be billed anywhere


def test_the_address_step_refuses_a_country_outside_every_zone_next_to_the_field(shopper):
    client, cart = shopper
    client.post("/cart/checkout/")

    response = client.post("/checkout/address/", address_form({**US_ADDRESS, "country": "FR", "region": ""}))

    assert response.status_code == 400
    assert field_error(response, "id_shipping_country") == "Sorry, we do not ship to France."
    html = response.content.decode()
    assert 'id="id_shipping_country" name="shipping-country" autocomplete="shipping country" aria-required="true" aria-invalid="true"' in html
    assert '<option value="" selected>Choose a country</option>' in html  # not another country shown as chosen
    assert current(cart).shipping_address is None and current(cart).email == ""


# --- the shipping step: prices, thresholds, delivery windows --------------------------------


def test_the_shipping_step_shows_delivery_windows_and_the_free_shipping_threshold(us_shop, shirt, make_cart, client):
    make_method(code="courier", name="Courier", price="25.00", min_days=2, max_days=2, zone=us_shop, position=3)
    use_cart(client, make_cart({shirt: 1}))
    client.post("/cart/checkout/")
    client.post("/checkout/address/", address_form(US_ADDRESS))

    html = client.get("/checkout/shipping/").content.decode()

    assert choice(html, "standard") == "Standard Delivery in 3–5 days Free over $100.00 $5.00"
    assert choice(html, "express") == "Express Delivery in 1–2 days $15.00"
    assert choice(html, "courier") == "Courier Delivery in 2 days $25.00"


def test_shipping_is_free_at_the_threshold(us_shop, shirt, make_variant, make_cart, client):
    cart = make_cart({shirt: 3, make_variant("SOCKS", price="10.00"): 1})  # exactly $100
    use_cart(client, cart)
    client.post("/cart/checkout/")
    client.post("/checkout/address/", address_form(US_ADDRESS))

    html = client.get("/checkout/shipping/").content.decode()

    assert choice(html, "standard") == "Standard Delivery in 3–5 days Free instead of $5.00"
    assert choice(html, "express") == "Express Delivery in 1–2 days $15.00"
    client.post("/checkout/shipping/", {"shipping_method": "standard"})
    assert ("Shipping (Standard)", "Free") in totals_rows(client.get("/checkout/payment/"))
    assert price_cart(current(cart)).shipping == Money("0.00", "USD")


def choice(html: str, method: str) -> str:
    label = re.search(rf'<label for="shipping-{method}">(.*?)</label>', html, re.S)
    assert label, f"no shipping choice {method}"
    return flat(label.group(1))
