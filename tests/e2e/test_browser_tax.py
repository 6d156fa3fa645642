"""Tax and discount codes in a real browser (Debian's chromium through Playwright) on
Django's live server, paying through localstripe's Stripe.js as tests/e2e/test_browser_checkout.py
does: a shopper in Germany (prices include VAT 19%, paying in euros) and one in California
(7.25% sales tax added, on a phone) each apply a code on the cart page, see the tax line
on the payment step and pay; the amount localstripe charged, the order's total and the
total the payment page showed are one number to the cent. A code whose last use goes to
someone else while the shopper pays is explained on the payment step, and paying without
it then works.

Screenshots go to /tmp/shots/tax_*.png for a person to look at. `chromium` comes last in
each test's arguments (see tests/support/browser_fixtures.py).
"""
from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
import stripe
from moneyed import Money

from catalog.models import Product
from discounts.models import DiscountCode, DiscountUse
from orders.models import Order
from taxes.models import TaxRate
from tests.e2e.test_browser_checkout import DESKTOP, OVERFLOWING, PHONE, fill_card
from tests.support.browser_fixtures import SHOTS, off_loop
from tests.support.rates import store_rates
from tests.support.shipping import make_method, make_zone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

GERMANY = {"name": "Ada Lovelace", "line1": "Unter den Linden 1", "city": "Berlin", "region": "", "postal_code": "10117", "country": "DE"}
CALIFORNIA = {"name": "Grace Hopper", "line1": "1 Main St", "city": "Los Angeles", "region": "CA", "postal_code": "90001", "country": "US"}


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"tax_{name}.png"), full_page=True)


@pytest.fixture
def shirt(make_variant):
    """A $30 linen shirt, 10 of size M, and the code SAVE10 (10% off)."""
    product = Product.objects.create(slug="linen-shirt", name="Linen shirt", description="A shirt of washed linen.")
    DiscountCode.objects.create(code="SAVE10", kind="percent", value=Decimal("10"))
    return make_variant("SHIRT-M", price="30.00", on_hand=10, product=product, size="M")


@pytest.fixture
def germany(settings, shirt):
    """Prices include tax; the shop ships to Germany (DHL Paket, $5) with VAT 19%, on
    shipping too; 0.9215 EUR per USD."""
    settings.PRICES_INCLUDE_TAX = True
    store_rates({"EUR": "0.9215"})
    make_method(code="dhl", name="DHL Paket", price="5.00", min_days=1, max_days=3, zone=make_zone("Germany", ["DE"]))
    TaxRate.objects.create(country="DE", name="VAT", rate=Decimal("19.00"), shipping_taxable=True)


@pytest.fixture
def california(settings, shirt):
    """Tax added; the shop ships to the US (standard $5, free from $100) with CA sales tax
    7.25%, not on shipping."""
    settings.PRICES_INCLUDE_TAX = False
    zone = make_zone("United States", ["US"])
    make_method(code="standard", name="Standard", price="5.00", free_over="100.00", min_days=3, max_days=5, zone=zone)
    TaxRate.objects.create(country="US", region="CA", name="Sales tax", rate=Decimal("7.25"), shipping_taxable=False)


def to_cart_with_code(page, base: str, prefix: str, *, quantity: int, currency: str | None = None) -> None:
    page.goto(f"{base}/products/linen-shirt/")
    if currency:
        page.get_by_label("Currency").select_option(currency)
        page.get_by_role("button", name="Change currency").click()
        page.wait_for_url(f"{base}/products/linen-shirt/")
    page.get_by_label(re.compile(r"Size: M")).check()
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"{base}/cart/")

    page.get_by_label("Discount code", exact=True).fill("save10")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"{base}/cart/")
    assert page.locator("#discount-code-status").inner_text().startswith("Code SAVE10 applied")
    shot(page, f"{prefix}_cart_code")


def to_payment_step(page, base: str, prefix: str, address: dict[str, str], method: str) -> None:
    page.get_by_role("button", name="Checkout").click()
    page.wait_for_url(f"{base}/checkout/address/")
    page.get_by_label("Email").fill("ada@example.com")
    fields = page.locator("fieldset.address-fields").first
    # The country comes first: the fields below it follow its postal format.
    fields.get_by_label("Country").select_option(address["country"])
    postal_label = {"US": "ZIP code", "DE": "Postal code"}[address["country"]]
    fields.get_by_label(postal_label).wait_for()
    fields.get_by_label("Full name").fill(address["name"])
    fields.get_by_label("Address", exact=True).fill(address["line1"])
    fields.get_by_label("City").fill(address["city"])
    if address["region"]:
        fields.get_by_label("State").select_option(address["region"])
    fields.get_by_label(postal_label).fill(address["postal_code"])
    page.get_by_role("button", name="Continue to shipping").click()
    page.wait_for_url(f"{base}/checkout/shipping/")
    shot(page, f"{prefix}_shipping")

    page.get_by_label(re.compile(method)).check()
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(f"{base}/checkout/payment/")
    page.get_by_label("Card number").wait_for()
    shot(page, f"{prefix}_payment")


def shown_total(page) -> Decimal:
    """The total the payment step's summary shows (its data-total)."""
    return Decimal(page.locator(".order-summary .summary-total dd").get_attribute("data-total"))


def pay(page, base: str) -> None:
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    page.wait_for_url(f"{base}/checkout/complete/", timeout=30_000)
    assert page.get_by_role("heading", name="Thank you, your order is placed").is_visible()


def charged() -> tuple[Order, int, str]:
    """The one order, and what localstripe charged for it."""
    def read():
        [order] = Order.objects.all()
        return order, order.payments.get().stripe_payment_intent_id

    order, intent_id = off_loop(read)
    intent = stripe.PaymentIntent.retrieve(intent_id)
    assert intent.status == "succeeded"
    return order, int(intent.amount), intent.currency


def test_a_shopper_in_germany_sees_the_vat_included_and_is_charged_the_total_shown(
    germany, browser_stripe, live_server, chromium  # noqa: F811
):
    base = live_server.url
    page = chromium.new_page(viewport=DESKTOP)

    to_cart_with_code(page, base, "de_desktop", quantity=3, currency="EUR")
    assert "Prices include VAT" in page.locator(".cart-totals").inner_text()
    to_payment_step(page, base, "de_desktop", GERMANY, "DHL Paket")

    # 3 x €27.65 = €82.95, 10% off -> €74.65, shipping €4.61: €79.26, which includes
    # VAT 19%: €11.92 on the shirts and €0.74 on shipping.
    included = page.locator(".order-summary .totals-included")
    assert " ".join(included.inner_text().split()) == "Includes VAT 19% €12.66"
    total = shown_total(page)
    assert total == Decimal("79.26")
    assert page.get_by_role("button", name=re.compile(r"^Pay ")).inner_text().strip() == "Pay €79.26"

    pay(page, base)
    shot(page, "de_desktop_confirmation")

    order, amount, currency = charged()
    assert (amount, currency) == (7926, "eur")
    assert order.total == Money(total, "EUR") and order.prices_include_tax
    assert order.discount_code == "SAVE10" and order.tax == Money("12.66", "EUR")
    assert " ".join(page.locator(".totals-included").inner_text().split()) == "Includes VAT 19% €12.66"


def test_a_shopper_in_california_on_a_phone_sees_the_sales_tax_and_is_charged_the_total_shown(
    california, browser_stripe, live_server, chromium  # noqa: F811
):
    base = live_server.url
    page = chromium.new_page(viewport=PHONE)

    to_cart_with_code(page, base, "us_phone", quantity=3)
    assert page.evaluate(OVERFLOWING) == []
    assert "Calculated at checkout" in page.locator(".cart-totals").inner_text()
    to_payment_step(page, base, "us_phone", CALIFORNIA, "Standard")
    assert page.evaluate(OVERFLOWING) == []

    # On a phone the summary starts folded into one line with the total; the shopper opens it.
    summary_toggle = page.locator(".order-summary .summary-toggle")
    assert "$91.87" in summary_toggle.inner_text()
    summary_toggle.click()
    # 3 x $30 = $90, 10% off -> $81, standard shipping $5, CA sales tax 7.25% of $81 = $5.87.
    tax = page.locator(".order-summary .totals-tax")
    assert " ".join(tax.inner_text().split()) == "Sales tax 7.25% $5.87"
    total = shown_total(page)
    assert total == Decimal("91.87")
    assert page.get_by_role("button", name=re.compile(r"^Pay ")).inner_text().strip() == "Pay $91.87"

    pay(page, base)
    assert page.evaluate(OVERFLOWING) == []
    shot(page, "us_phone_confirmation")

    order, amount, currency = charged()
    assert (amount, currency) == (9187, "usd")
    assert order.total == Money(total, "USD") and not order.prices_include_tax
    assert order.tax_lines == [{"name": "Sales tax", "rate": "7.25", "amount": "5.87"}]


def test_a_code_used_up_while_paying_is_explained_and_paying_without_it_works(
    california, browser_stripe, live_server, chromium  # noqa: F811
):
    base = live_server.url
    page = chromium.new_page(viewport=DESKTOP)
    off_loop(lambda: DiscountCode.objects.filter(code="SAVE10").update(usage_limit=1))
    to_cart_with_code(page, base, "used_up", quantity=3)
    to_payment_step(page, base, "used_up", CALIFORNIA, "Standard")

    # Someone else's order takes the code's last use while this shopper types their card.
    def use_it_up():
        code = DiscountCode.objects.get(code="SAVE10")
        DiscountUse.objects.create(code=code, holder_id=uuid.uuid4(), email="grace@example.com", status=DiscountUse.Status.COMMITTED)

    off_loop(use_it_up)
    fill_card(page, "4242424242424242")
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()

    problem = page.locator("#payment-problem")
    problem.wait_for(state="visible", timeout=30_000)
    assert "The discount code SAVE10 has been used up. Remove it to pay without it." in problem.inner_text()
    shot(page, "used_up_problem")
    assert off_loop(lambda: Order.objects.count()) == 0

    problem.get_by_role("button", name="Remove the code").click()
    page.wait_for_url(f"{base}/checkout/payment/")
    page.get_by_label("Card number").wait_for()
    # $90 + $5 shipping + 7.25% of $90 ($6.53).
    assert page.get_by_role("button", name=re.compile(r"^Pay ")).inner_text().strip() == "Pay $101.53"
    pay(page, base)

    order, amount, _ = charged()
    assert amount == 10153 and order.total == Money("101.53", "USD") and order.discount_code == ""
