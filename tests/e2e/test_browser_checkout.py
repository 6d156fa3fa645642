"""A shopper in a real browser (Debian's chromium through Playwright) goes through every
checkout page on Django's live server, paying through localstripe's Stripe.js, and the
database then holds exactly one order for the right amount with the stock committed.

Screenshots of each page go to /tmp/shots/ for a person to look at. `chromium` comes
last in each test's arguments: fixtures that write to the database must run before the
browser opens (see tests/support/browser_fixtures.py).
"""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from moneyed import Money

from cart.models import Cart
from catalog.models import Product
from inventory.models import Stock, StockMovement
from orders.models import Order
from tests.support.browser_fixtures import SHOTS, off_loop
from tests.support.shipping import make_method

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
# Elements of the page's main content that reach past the right edge of the screen.
OVERFLOWING = """() => [...document.querySelectorAll('main *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''))"""


@pytest.fixture
def shirt(make_variant):
    """A shirt in two sizes at 19.99 USD, 10 of size M on hand, and two shipping methods."""
    product = Product.objects.create(slug="linen-shirt", name="Linen shirt", description="A shirt of washed linen.")
    make_variant("SHIRT-S", price="19.99", on_hand=10, product=product, size="S")
    medium = make_variant("SHIRT-M", price="19.99", on_hand=10, product=product, size="M")
    make_method(code="standard", name="Standard", price=Money(Decimal("4.99"), "USD"), position=1)
    make_method(code="express", name="Express", price=Money(Decimal("12.50"), "USD"), position=2)
    return medium


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fill_card(page, number: str) -> None:
    """localstripe's card field: plain inputs, labelled by checkout.js."""
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry month (MM)").fill("12")
    page.get_by_label("Expiry year (YY)").fill("34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_label("Card postal code").fill("10001")


def to_payment_step(page, base: str, prefix: str, *, quantity: int, shipping: str, use_keyboard: bool = False) -> None:
    """Product page -> cart -> checkout -> address -> shipping -> payment."""
    page.goto(f"{base}/products/linen-shirt/")
    page.get_by_label(re.compile(r"Size: M")).check()
    page.get_by_label("Quantity").fill(str(quantity))
    shot(page, f"{prefix}-1-product")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"{base}/cart/")
    shot(page, f"{prefix}-2-cart")

    page.get_by_role("button", name="Checkout").click()
    page.wait_for_url(f"{base}/checkout/address/")
    assert page.locator('[aria-current="step"]').inner_text().strip().endswith("Contact and address")
    assert page.get_by_text("Test mode:").is_visible()
    assert page.locator(".reservation-timer").is_visible()
    shot(page, f"{prefix}-3-address")

    page.get_by_label("Email").fill("ada@example.com")
    shipping_fields = page.locator("fieldset.address-fields").first
    # The country comes first: the fields below it follow its postal format.
    shipping_fields.get_by_label("Country").select_option("GB")
    shipping_fields.get_by_label("Postcode").wait_for()
    shipping_fields.get_by_label("Full name").fill("Ada Lovelace")
    shipping_fields.get_by_label("Address", exact=True).fill("12 Analytical Row")
    shipping_fields.get_by_label("Town or city").fill("London")
    shipping_fields.get_by_label("Postcode").fill("N1 7AA")
    assert not page.locator("#billing-fields").is_visible()  # billing same as shipping by default
    if use_keyboard:
        shipping_fields.get_by_label("Postcode").press("Enter")
    else:
        page.get_by_role("button", name="Continue to shipping").click()
    page.wait_for_url(f"{base}/checkout/shipping/")
    shot(page, f"{prefix}-4-shipping")

    if use_keyboard:
        page.get_by_label(re.compile(shipping)).focus()
        page.keyboard.press("Space")
        page.get_by_role("button", name="Continue to payment").focus()
        page.keyboard.press("Enter")
    else:
        page.get_by_label(re.compile(shipping)).check()
        page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(f"{base}/checkout/payment/")
    page.get_by_label("Card number").wait_for()
    assert page.get_by_role("button", name=re.compile(r"^Pay ")).is_enabled()
    shot(page, f"{prefix}-5-payment")


def order_facts(sku: str) -> dict:
    orders = list(Order.objects.prefetch_related("lines"))
    stock = Stock.objects.get(variant__sku=sku)
    sales = list(StockMovement.objects.filter(variant__sku=sku, reason=StockMovement.Reason.SALE))
    return {
        "orders": orders,
        "on_hand": stock.on_hand,
        "reserved": stock.reserved,
        "sales": sales,
        "cart_statuses": list(Cart.objects.values_list("status", flat=True)),
    }


def test_a_shopper_pays_with_a_card_and_gets_exactly_one_order(shirt, browser_stripe, live_server, chromium):  # noqa: F811
    base = live_server.url
    page = chromium.new_page(viewport=DESKTOP)

    to_payment_step(page, base, "desktop", quantity=2, shipping="Standard")
    assert "Pay $44.97" in page.get_by_role("button", name=re.compile(r"^Pay ")).inner_text()
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(f"{base}/checkout/complete/", timeout=30_000)
    assert page.get_by_role("heading", name="Thank you, your order is placed").is_visible()
    number = page.locator(".order-number strong").inner_text()
    shot(page, "desktop-6-confirmation")

    facts = off_loop(lambda: order_facts("SHIRT-M"))
    assert len(facts["orders"]) == 1
    order = facts["orders"][0]
    assert order.number == number and re.fullmatch(r"ORD-\d{4}-\d{5}", number)
    assert order.total == Money(Decimal("44.97"), "USD")  # 2 x 19.99 + 4.99
    assert order.currency == "USD" and order.email == "ada@example.com"
    assert [(line.sku, line.quantity, line.line_total) for line in order.lines.all()] == [
        ("SHIRT-M", 2, Money(Decimal("39.98"), "USD"))
    ]
    assert facts["on_hand"] == 8 and facts["reserved"] == 0
    assert [(m.delta, m.order_id) for m in facts["sales"]] == [(-2, order.pk)]
    assert facts["cart_statuses"] == ["completed"]

    # The order page from the confirmation's link shows the same order.
    page.get_by_role("link", name="View your order").click()
    page.wait_for_url(re.compile(rf"{base}/orders/{number}/\?token="))
    assert page.get_by_role("heading", name=f"Order {number}").is_visible()
    assert "$44.97" in page.locator(".summary-total").inner_text()
    shot(page, "desktop-7-order")


def test_on_a_phone_a_declined_card_is_explained_and_3d_secure_completes_the_payment(
    shirt, browser_stripe, live_server, chromium  # noqa: F811
):
    base = live_server.url
    page = chromium.new_page(viewport=PHONE)

    to_payment_step(page, base, "phone", quantity=1, shipping="Express", use_keyboard=True)
    assert page.evaluate(OVERFLOWING) == []  # nothing wider than the phone

    # Declined when charged: the shop's 402 is shown next to the card field; nothing is sold.
    fill_card(page, "4000000000000341")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    card_error = page.locator("#card-errors")
    card_error.wait_for(state="visible", timeout=30_000)
    assert "declined" in card_error.inner_text().lower()
    shot(page, "phone-6-declined")
    # Asking to pay extended the reservation to 15 minutes, and the countdown says so.
    assert re.fullmatch(r"1[45]:\d\d", page.locator(".reservation-left").inner_text())
    facts = off_loop(lambda: order_facts("SHIRT-M"))
    assert facts["orders"] == [] and facts["on_hand"] == 10 and facts["reserved"] == 1
    assert facts["cart_statuses"] == ["checkout"]

    # A card that asks for 3-D Secure: localstripe's dialog, confirmed once, for the
    # shop's PaymentIntent (the card is not authenticated a second time to be set up).
    fill_card(page, "4000002760003184")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    confirm = page.get_by_role("button", name="Complete authentication")
    confirm.wait_for(timeout=30_000)
    shot(page, "phone-7-3ds")
    confirm.click()
    page.wait_for_url(f"{base}/checkout/complete/", timeout=30_000)
    assert page.locator("#card-errors").count() == 0 or not page.locator("#card-errors").is_visible()
    shot(page, "phone-8-confirmation")
    assert page.evaluate(OVERFLOWING) == []

    facts = off_loop(lambda: order_facts("SHIRT-M"))
    assert len(facts["orders"]) == 1
    order = facts["orders"][0]
    assert order.total == Money(Decimal("32.49"), "USD")  # 19.99 + 12.50
    assert facts["on_hand"] == 9 and facts["reserved"] == 0
    assert [(m.delta, m.order_id) for m in facts["sales"]] == [(-1, order.pk)]


def test_a_refused_3d_secure_check_is_explained_and_another_card_then_pays_once(
    shirt, browser_stripe, live_server, chromium  # noqa: F811
):
    base = live_server.url
    page = chromium.new_page(viewport=DESKTOP)
    to_payment_step(page, base, "3ds-refused", quantity=3, shipping="Standard")
    pay = page.get_by_role("button", name=re.compile(r"^Pay "))

    # The bank check of the payment (the only one) fails.
    fill_card(page, "4000002760003184")
    pay.click()
    page.get_by_role("button", name="Fail authentication").click(timeout=30_000)
    card_error = page.locator("#card-errors")
    card_error.wait_for(state="visible", timeout=30_000)
    assert "Your bank did not confirm the payment" in card_error.inner_text()
    assert pay.is_enabled()
    shot(page, "3ds-refused-6-error")
    facts = off_loop(lambda: order_facts("SHIRT-M"))
    assert facts["orders"] == [] and facts["on_hand"] == 10 and facts["cart_statuses"] == ["checkout"]

    fill_card(page, "4242424242424242")
    pay.click()
    page.wait_for_url(f"{base}/checkout/complete/", timeout=30_000)

    facts = off_loop(lambda: order_facts("SHIRT-M"))
    assert len(facts["orders"]) == 1
    assert facts["orders"][0].total == Money(Decimal("64.96"), "USD")  # 3 x 19.99 + 4.99
    assert facts["on_hand"] == 7 and facts["reserved"] == 0
    assert [m.delta for m in facts["sales"]] == [-3]
