"""The one totals function (cart.pricing.price_cart) with discount, shipping and tax:
tables of worked cases in USD, EUR, JPY and KWD, to the currency's minor unit, in the
written order lines -> discount -> shipping -> tax -> total."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from moneyed import Money

from cart.models import Cart
from cart.pricing import price_cart, shipping_options
from catalog.models import Category, Product
from discounts.models import DiscountCode
from taxes.models import TaxRate
from tests.support.shipping import make_method, make_zone, rest_of_world

pytestmark = pytest.mark.django_db


def m(amount: str, currency: str = "USD") -> Money:
    return Money(Decimal(amount), currency)


@pytest.fixture
def world(make_variant, fixed_rates):
    """A shirt ($40, clothing) and a book ($15, books, a subcategory of media), one
    standard method everywhere: $5.00, free from $100."""
    clothing = Category.objects.create(name="Clothing", slug="clothing")
    media = Category.objects.create(name="Media", slug="media")
    books = Category.objects.create(name="Books", slug="books", parent=media)
    shirt = make_variant("SHIRT", price="40.00", product=Product.objects.create(slug="shirt", name="Shirt", category=clothing))
    book = make_variant("BOOK", price="15.00", product=Product.objects.create(slug="book", name="Book", category=books))
    note = make_variant("NOTE", price="20.00", product=Product.objects.create(slug="note", name="Note", category=clothing))
    make_method(code="standard", name="Standard", price="5.00", free_over="100.00", zone=rest_of_world())
    return {"shirt": shirt, "book": book, "note": note, "books": books, "media": media, "clothing": clothing}


def cart_for(make_cart, world, lines: dict[str, int], *, currency: str = "USD", country: str = "US", region: str = "", code: str = "") -> Cart:
    cart = make_cart({world[name]: quantity for name, quantity in lines.items()}, currency=currency)
    cart.shipping_address = {"name": "A", "line1": "1 Road", "city": "X", "postal_code": "1", "country": country, "region": region}
    cart.shipping_method = "standard"
    cart.discount_code = code
    cart.save()
    return cart


def tax(country: str, rate: str, *, region: str = "", name: str = "Tax", shipping: bool = True, category=None) -> TaxRate:
    return TaxRate.objects.create(country=country, region=region, name=name, rate=Decimal(rate), shipping_taxable=shipping, category=category)


def code(text: str, kind: str, value: str | None = None, **fields) -> DiscountCode:
    return DiscountCode.objects.create(code=text, kind=kind, value=Decimal(value) if value else None, **fields)


def assert_parts_add_up(totals) -> None:
    """Shares of the discount and per-line taxes add up to the totals; the total follows
    the written order."""
    currency = totals.currency
    assert sum((p.discount for p in totals.lines), m("0", currency)) == totals.discount
    line_tax = sum((p.tax for p in totals.lines), m("0", currency))
    assert line_tax + (totals.shipping_tax or m("0", currency)) == totals.tax
    assert sum((t.amount for t in totals.tax_lines), m("0", currency)) == totals.tax
    added = m("0", currency) if totals.prices_include_tax else totals.tax
    assert totals.total == totals.subtotal - totals.discount + totals.shipping + added
    assert totals.total.amount >= 0


def test_usd_tax_added_per_line_shipping_untaxed_in_california(world, make_cart, settings):
    settings.PRICES_INCLUDE_TAX = False
    tax("US", "7.25", region="CA", name="Sales tax", shipping=False)
    cart = cart_for(make_cart, world, {"shirt": 2, "book": 1}, region="ca")

    totals = price_cart(cart)

    assert (totals.subtotal, totals.discount, totals.shipping) == (m("95.00"), m("0.00"), m("5.00"))
    # 80.00 x 7.25% = 5.80; 15.00 x 7.25% = 1.0875 -> 1.09 (per line, half-up)
    assert [p.tax for p in totals.lines] == [m("5.80"), m("1.09")]
    assert [(t.label, t.amount) for t in totals.tax_lines] == [("Sales tax 7.25%", m("6.89"))]
    assert totals.total == m("106.89")
    assert_parts_add_up(totals)


def test_usd_discount_comes_before_tax_and_the_free_shipping_threshold(world, make_cart, settings):
    settings.PRICES_INCLUDE_TAX = False
    tax("US", "7.25", region="CA", name="Sales tax", shipping=False)
    code("TEN", "percent", "10")
    cart = cart_for(make_cart, world, {"shirt": 2, "book": 1}, region="CA", code="TEN")

    totals = price_cart(cart)

    # 10% of 95.00 = 9.50, shared 8.00 / 1.50; 85.50 after it is under the $100 threshold.
    assert (totals.discount, [p.discount for p in totals.lines], totals.shipping) == (m("9.50"), [m("8.00"), m("1.50")], m("5.00"))
    # tax on 72.00 -> 5.22, on 13.50 -> 0.97875 -> 0.98
    assert [p.tax for p in totals.lines] == [m("5.22"), m("0.98")]
    assert (totals.tax, totals.total) == (m("6.20"), m("96.70"))
    assert_parts_add_up(totals)


def test_texas_taxes_shipping_too(world, make_cart, settings):
    settings.PRICES_INCLUDE_TAX = False
    tax("US", "6.25", region="TX", name="Sales tax", shipping=True)
    cart = cart_for(make_cart, world, {"book": 1}, region="TX")

    totals = price_cart(cart)

    # 15.00 x 6.25% = 0.9375 -> 0.94; shipping 5.00 x 6.25% = 0.3125 -> 0.31
    assert ([p.tax for p in totals.lines], totals.shipping_tax, totals.tax) == ([m("0.94")], m("0.31"), m("1.25"))
    assert totals.total == m("21.25")
    assert_parts_add_up(totals)


@pytest.mark.parametrize(
    ("lines", "code_value", "shipping"),
    [
        ({"shirt": 2, "note": 1}, None, "0.00"),  # exactly $100.00: free
        ({"shirt": 2, "note": 1}, "0.01", "5.00"),  # $99.99 after the discount: not free
        ({"shirt": 2, "book": 1}, None, "5.00"),  # $95.00
    ],
)
def test_free_shipping_from_the_threshold_on_the_subtotal_after_discounts(world, make_cart, lines, code_value, shipping):
    if code_value:
        code("CENT", "fixed", code_value)
    cart = cart_for(make_cart, world, lines, country="FR", code="CENT" if code_value else "")

    totals = price_cart(cart)

    assert totals.shipping == m(shipping)
    assert totals.free_shipping is (shipping == "0.00")
    assert_parts_add_up(totals)


def test_eur_prices_include_vat_with_a_reduced_rate_for_a_parent_category(world, make_cart, settings):
    settings.PRICES_INCLUDE_TAX = True
    tax("DE", "19.00", name="VAT")
    tax("DE", "7.00", name="VAT", category=world["media"])  # books are media
    cart = cart_for(make_cart, world, {"shirt": 2, "book": 1}, currency="EUR", country="DE")

    totals = price_cart(cart)

    # 40 x 0.9 = 36.00, 15 x 0.9 = 13.50; shipping 5 x 0.9 = 4.50 (free from 90.00)
    assert (totals.subtotal, totals.shipping) == (m("85.50", "EUR"), m("4.50", "EUR"))
    # extracted: 72.00 x 19/119 = 11.4957 -> 11.50; 13.50 x 7/107 = 0.8832 -> 0.88;
    # shipping 4.50 x 19/119 = 0.7185 -> 0.72
    assert [(p.tax, p.tax_rate) for p in totals.lines] == [(m("11.50", "EUR"), Decimal("19.00")), (m("0.88", "EUR"), Decimal("7.00"))]
    assert [(t.label, t.amount) for t in totals.tax_lines] == [("VAT 19%", m("12.22", "EUR")), ("VAT 7%", m("0.88", "EUR"))]
    assert totals.total == m("90.00", "EUR")  # tax included: the total is the gross prices
    assert totals.prices_include_tax is True
    assert_parts_add_up(totals)


def test_with_prices_including_tax_the_total_is_the_same_whatever_the_rate(world, make_cart, settings):
    settings.PRICES_INCLUDE_TAX = True
    tax("DE", "19.00", name="VAT")
    tax("FR", "20.00", name="TVA")
    german = price_cart(cart_for(make_cart, world, {"shirt": 1}, currency="EUR", country="DE"))
    french = price_cart(cart_for(make_cart, world, {"shirt": 1}, currency="EUR", country="FR"))

    assert german.total == french.total == m("40.50", "EUR")
    assert (german.tax, french.tax) == (m("6.47", "EUR"), m("6.75", "EUR"))  # 40.50 x 19/119; x 20/120


def test_jpy_has_no_minor_units(world, make_cart, settings):
    settings.PRICES_INCLUDE_TAX = False
    tax("JP", "10.00", name="Consumption tax")
    cart = cart_for(make_cart, world, {"shirt": 2, "book": 1}, currency="JPY", country="JP")

    totals = price_cart(cart)

    # 40 x 151.237 = 6049.48 -> 6049 (x2 = 12098); 15 x 151.237 = 2268.56 -> 2269; shipping 756.19 -> 756
    assert (totals.subtotal, totals.shipping) == (m("14367", "JPY"), m("756", "JPY"))
    # 1209.8 -> 1210, 226.9 -> 227, shipping 75.6 -> 76
    assert ([p.tax for p in totals.lines], totals.shipping_tax) == ([m("1210", "JPY"), m("227", "JPY")], m("76", "JPY"))
    assert (totals.tax, totals.total) == (m("1513", "JPY"), m("16636", "JPY"))
    assert_parts_add_up(totals)


def test_kwd_rounds_every_part_to_stripes_ten_fils_step(world, make_cart, settings):
    settings.PRICES_INCLUDE_TAX = False
    tax("KW", "5.00", name="Test tax", shipping=False)
    code("TEN", "percent", "10")
    cart = cart_for(make_cart, world, {"shirt": 2, "book": 1}, currency="KWD", country="KW", code="TEN")

    totals = price_cart(cart)

    # 40 x 0.30701 = 12.2804 -> 12.280; 15 x 0.30701 = 4.60515 -> 4.610; shipping 1.53505 -> 1.540
    assert (totals.subtotal, totals.shipping) == (m("29.170", "KWD"), m("1.540", "KWD"))
    # 10% = 2.917 -> 2.920, shared 2.460 / 0.460 (largest remainder)
    assert (totals.discount, [p.discount for p in totals.lines]) == (m("2.920", "KWD"), [m("2.460", "KWD"), m("0.460", "KWD")])
    # 22.100 x 5% = 1.105 -> 1.110; 4.150 x 5% = 0.2075 -> 0.210
    assert ([p.tax for p in totals.lines], totals.tax) == ([m("1.110", "KWD"), m("0.210", "KWD")], m("1.320", "KWD"))
    assert totals.total == m("29.110", "KWD")
    assert_parts_add_up(totals)


@pytest.mark.parametrize("currency", ["USD", "EUR", "JPY", "KWD"])
def test_a_discount_larger_than_the_subtotal_leaves_only_shipping(world, make_cart, currency, settings):
    settings.PRICES_INCLUDE_TAX = False
    tax("US", "7.25", region="CA", name="Sales tax", shipping=False)
    code("HUGE", "fixed", "500.00")
    cart = cart_for(make_cart, world, {"shirt": 2, "book": 1}, currency=currency, region="CA", code="HUGE")

    totals = price_cart(cart)

    assert totals.discount == totals.subtotal
    assert totals.tax.amount == 0
    assert totals.total == totals.shipping
    assert totals.total.amount > 0
    assert_parts_add_up(totals)


def test_a_code_limited_to_a_category_discounts_only_its_lines(world, make_cart):
    limited = code("BOOKS20", "percent", "20")
    limited.categories.add(world["media"])  # books are a subcategory of media
    cart = cart_for(make_cart, world, {"shirt": 2, "book": 1}, code="BOOKS20")

    totals = price_cart(cart)

    assert (totals.discount, [p.discount for p in totals.lines]) == (m("3.00"), [m("0.00"), m("3.00")])


def test_a_free_shipping_code_frees_every_method(world, make_cart):
    code("SHIPFREE", "free_shipping", min_subtotal_usd=Decimal("40.00"))
    cart = cart_for(make_cart, world, {"shirt": 1}, code="SHIPFREE")

    totals = price_cart(cart)

    assert (totals.shipping, totals.discount, totals.total, totals.free_shipping_code) == (m("0.00"), m("0.00"), m("40.00"), True)
    assert [option.price for option in shipping_options(cart, totals)] == [m("0.00")]


@pytest.mark.parametrize(
    ("fields", "lines", "reason"),
    [
        ({"min_subtotal_usd": Decimal("100.00")}, {"shirt": 2}, "minimum_not_met"),
        ({"ends_at": timezone.now() - timezone.timedelta(days=1)}, {"shirt": 2}, "expired"),
        ({"starts_at": timezone.now() + timezone.timedelta(days=1)}, {"shirt": 2}, "not_started"),
        ({"is_active": False}, {"shirt": 2}, "unknown"),
        ({}, {"shirt": 2}, "not_in_cart"),  # the code is for books only
    ],
)
def test_a_code_that_does_not_apply_gives_nothing_and_says_why(world, make_cart, fields, lines, reason):
    row = code("NOPE", "percent", "10", **fields)
    if reason == "not_in_cart":
        row.categories.add(world["books"])
    cart = cart_for(make_cart, world, lines, code="NOPE")

    totals = price_cart(cart)

    assert (totals.discount, totals.discount_problem) == (m("0.00"), reason)
    assert "NOPE" in totals.discount_message
    assert totals.total == totals.subtotal + totals.shipping


def test_no_address_means_no_tax_yet_and_no_shipping_methods(world, make_cart):
    tax("US", "7.25", region="CA", name="Sales tax")
    cart = make_cart({world["shirt"]: 1})

    totals = price_cart(cart)

    assert (totals.tax, totals.tax_lines, totals.tax_known) == (m("0.00"), [], False)
    assert shipping_options(cart, totals) == []


def test_zones_pick_the_methods_of_the_address_country(world, make_cart):
    europe = make_zone("Europe", ["DE", "FR"])
    make_method(code="express", name="Express EU", price="19.00", zone=europe, min_days=1, max_days=3)
    german = cart_for(make_cart, world, {"shirt": 1}, country="DE")
    american = cart_for(make_cart, world, {"shirt": 1}, country="US")

    assert [(o.code, o.price, o.min_days, o.max_days) for o in shipping_options(german)] == [("express", m("19.00"), 1, 3)]
    assert [(o.code, o.price, o.free_over) for o in shipping_options(american)] == [("standard", m("5.00"), m("100.00"))]


def test_weight_steps_price_the_parcel_and_a_heavy_one_cannot_use_the_method(world, make_cart):
    from shipping.models import WeightStep

    light = make_method(code="parcel", name="Parcel", price="0.00", zone=make_zone("Japan", ["JP"]))
    WeightStep.objects.create(method=light, up_to_grams=1000, price_usd=Decimal("9.00"))
    WeightStep.objects.create(method=light, up_to_grams=5000, price_usd=Decimal("24.00"))
    world["shirt"].product.weight_grams = 600
    world["shirt"].product.save()

    def options(quantity):
        return [(o.code, o.price) for o in shipping_options(cart_for(make_cart, world, {"shirt": quantity}, country="JP"))]

    assert options(1) == [("parcel", m("9.00"))]
    assert options(2) == [("parcel", m("24.00"))]
    assert options(9) == []  # 5.4 kg: heavier than every step
