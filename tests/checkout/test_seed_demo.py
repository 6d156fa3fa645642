"""`manage.py seed_demo`: the demo catalog with its shipping zones, tax rates and discount
codes, and an admin user, safe to run on every start."""
from __future__ import annotations

import json
from decimal import Decimal
import stat
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from checkout.management.commands.seed_demo import DEMO_FILE
from catalog.models import Product, ProductImage, Variant
from discounts.models import DiscountCode
from shipping import selectors as shipping
from shipping.models import ShippingMethod, ShippingZone, WeightStep
from taxes.models import TaxRate
from inventory import services as inventory
from inventory.models import Stock, StockMovement
from inventory.selectors import ledger_balance
from checkout import services as checkout_services

DEMO = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
DEMO_STOCK = {v["sku"]: v["stock"] for p in DEMO["products"] for v in p["variants"]}


@pytest.fixture
def run_dir(settings, tmp_path):
    settings.RUN_DIR = tmp_path / "run"
    return settings.RUN_DIR


def seed(*, images: bool = False) -> str:
    """Most tests leave the pictures out (drawing ~150 of them takes a while); the tests of
    pictures draw them."""
    out = StringIO()
    call_command("seed_demo", *([] if images else ["--without-images"]), stdout=out)
    return out.getvalue()


def test_seed_creates_the_demo_catalog_with_stock_through_the_ledger(db, run_dir):
    seed()

    assert set(Product.objects.values_list("slug", flat=True)) == {p["slug"] for p in DEMO["products"]}
    assert dict(Stock.objects.values_list("variant__sku", "on_hand")) == DEMO_STOCK
    for variant in Variant.objects.all():
        assert ledger_balance(variant.pk) == DEMO_STOCK[variant.sku]
    assert StockMovement.objects.count() == sum(1 for stock in DEMO_STOCK.values() if stock)


def test_the_demo_is_a_shop_of_distinct_products_in_every_category():
    by_category: dict[str, list[dict]] = {}
    for product in DEMO["products"]:
        by_category.setdefault(product["category"], []).append(product)

    assert {"Shirts", "T-shirts", "Knitwear", "Trousers", "Outerwear", "Accessories"} <= set(by_category)
    assert all(10 <= len(products) <= 14 for products in by_category.values())
    names = [product["name"] for product in DEMO["products"]]
    assert len(set(names)) == len(names) and not any("no." in name.lower() for name in names)
    assert all(len(product["description"]) >= 40 for product in DEMO["products"])
    variants = [v for p in DEMO["products"] for v in p["variants"]]
    assert sum(1 for v in variants if v["stock"] == 0) >= 10 and sum(1 for v in variants if 0 < v["stock"] < 5) >= 10
    assert len({v["price_usd"] for v in variants}) >= 40
    assert sum(1 for p in DEMO["products"] if len({v["attributes"].get("colour") for v in p["variants"]}) > 1) >= 30


def test_seed_draws_two_or_three_pictures_per_product_once(db, run_dir):
    output = seed(images=True)

    products = list(Product.objects.prefetch_related("images", "variants"))
    assert all(2 <= len(product.images.all()) <= 3 for product in products)
    pictures = [image for product in products for image in product.images.all()]
    assert f"{len(pictures)} pictures drawn" in output
    assert all(image.alt.startswith(image.product.name) and (image.width, image.height) == (800, 1000) for image in pictures)
    assert all({"card", "card@2x", "detail", "detail@2x", "thumb", "thumb@2x"} <= set(image.thumbnails) for image in pictures)
    # A colour's picture belongs to that colour's first variant, for the product page to show.
    oxford = next(p for p in products if p.slug == "oxford-shirt")
    assert [(image.variant.attributes["colour"] if image.variant else None) for image in oxford.images.all()] == ["White", "Blue", None]
    assert [image.alt for image in oxford.images.all()] == ["Oxford shirt in white, front", "Oxford shirt in blue, front", "Oxford shirt in white, close-up"]

    again = seed(images=True)

    assert "0 pictures drawn" in again and ProductImage.objects.count() == len(pictures)


EU = ["AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"]


def test_seed_creates_the_shipping_zones_and_their_methods(db, run_dir):
    output = seed()

    zones = {zone.name: zone for zone in ShippingZone.objects.all()}
    assert set(zones) == {"United States", "European Union", "Japan", "Rest of world"}
    assert [c.code for c in zones["United States"].countries] == ["US"]
    assert sorted(c.code for c in zones["European Union"].countries) == EU
    assert (list(zones["Rest of world"].countries), zones["Rest of world"].rest_of_world) == ([], True)
    methods = ShippingMethod.objects.filter(is_active=True).values_list("zone__name", "code", "price_usd", "free_over_usd", "min_days", "max_days")
    assert {(zone, code): (str(price), free and str(free), low, high) for zone, code, price, free, low, high in methods} == {
        ("United States", "standard"): ("4.95", "75.00", 3, 5),
        ("United States", "express"): ("14.90", None, 1, 2),
        ("European Union", "standard"): ("7.50", "100.00", 3, 6),
        ("European Union", "express"): ("19.00", None, 1, 3),
        ("Japan", "standard"): ("9.00", None, 4, 8),
        ("Japan", "express"): ("24.00", None, 2, 4),
        ("Rest of world", "international"): ("19.50", None, 7, 14),
    }
    # What checkout offers: the demo's heaviest parcels still ship abroad, by weight.
    assert [(q.code, str(q.price_usd)) for q in shipping.methods_for("BR", 800)] == [("international", "19.50")]
    assert [(q.code, str(q.price_usd)) for q in shipping.methods_for("BR", 3600)] == [("international", "34.00")]
    assert [q.code for q in shipping.methods_for("DE", 3600)] == ["standard", "express"]
    assert "Demo shipping zones: 4 (4 new)." in output


def test_seed_creates_the_tax_rates(db, run_dir):
    seed()

    def rate(country: str, region: str = "") -> tuple[str, str, bool]:
        row = TaxRate.objects.get(country=country, region=region, category=None)
        return row.name, str(row.rate), row.shipping_taxable

    assert sorted(TaxRate.objects.filter(name="VAT").values_list("country", flat=True)) == EU
    assert rate("DE") == ("VAT", "19.00", True)
    assert rate("FI") == ("VAT", "25.50", True)
    assert rate("HU") == ("VAT", "27.00", True)
    assert rate("US", "CA") == ("Sales tax", "7.25", False)
    assert rate("US", "NY") == ("Sales tax", "4.00", False)
    assert rate("US", "TX") == ("Sales tax", "6.25", True)
    assert rate("US", "WA") == ("Sales tax", "6.50", True)
    assert rate("JP") == ("Consumption tax", "10.00", True)
    assert TaxRate.objects.count() == 27 + 4 + 1


def test_seed_creates_the_discount_codes(db, run_dir):
    seed()

    codes = {code.code: code for code in DiscountCode.objects.prefetch_related("categories")}
    assert set(codes) == {"WELCOME10", "SHIPFREE", "SAVE15", "OUTERWEAR20"}
    assert (codes["WELCOME10"].kind, str(codes["WELCOME10"].value), codes["WELCOME10"].per_customer_limit) == ("percent", "10.00", 1)
    assert (codes["SHIPFREE"].kind, codes["SHIPFREE"].value, str(codes["SHIPFREE"].min_subtotal_usd)) == ("free_shipping", None, "40.00")
    assert (codes["SAVE15"].kind, str(codes["SAVE15"].value), str(codes["SAVE15"].min_subtotal_usd)) == ("fixed", "15.00", "100.00")
    outerwear = codes["OUTERWEAR20"]
    assert (outerwear.kind, str(outerwear.value)) == ("percent", "20.00")
    assert [category.name for category in outerwear.categories.all()] == ["Outerwear"]
    assert all(code.is_active for code in codes.values())


def test_seed_gives_every_demo_variant_a_shipping_weight(db, run_dir):
    seed()

    weights = {v.sku: v.shipping_weight_grams for v in Variant.objects.select_related("product")}
    assert all(weight > 0 for weight in weights.values())
    assert (weights["ESSECT-WHITE-M"], weights["LINEN-SHIRT-M"], weights["CHINO-32"], weights["RAIN-M"]) == (180, 230, 500, 1200)


def test_seed_creates_an_admin_and_prints_a_working_login(db, run_dir):
    output = seed()

    password = (run_dir / "admin-password").read_text().strip()
    assert f"password '{password}'" in output and "user 'admin'" in output
    admin = authenticate(username="admin", password=password)
    assert admin is not None and admin.is_staff and admin.is_superuser
    assert stat.S_IMODE((run_dir / "admin-password").stat().st_mode) == 0o600


def test_seeding_twice_changes_nothing(db, run_dir):
    seed()
    before = (
        list(Product.objects.order_by("slug").values_list("slug", "name")),
        list(Variant.objects.order_by("sku").values_list("sku", "price")),
        list(Stock.objects.order_by("variant__sku").values_list("variant__sku", "on_hand")),
        StockMovement.objects.count(),
        list(ShippingZone.objects.order_by("name").values_list("name", "countries", "rest_of_world")),
        list(ShippingMethod.objects.order_by("zone__name", "code").values_list("zone__name", "code", "price_usd")),
        WeightStep.objects.count(),
        list(TaxRate.objects.order_by("country", "region").values_list("country", "region", "rate")),
        list(DiscountCode.objects.order_by("code").values_list("code", "value")),
        get_user_model().objects.count(),
        (run_dir / "admin-password").read_text(),
    )

    seed()

    after = (
        list(Product.objects.order_by("slug").values_list("slug", "name")),
        list(Variant.objects.order_by("sku").values_list("sku", "price")),
        list(Stock.objects.order_by("variant__sku").values_list("variant__sku", "on_hand")),
        StockMovement.objects.count(),
        list(ShippingZone.objects.order_by("name").values_list("name", "countries", "rest_of_world")),
        list(ShippingMethod.objects.order_by("zone__name", "code").values_list("zone__name", "code", "price_usd")),
        WeightStep.objects.count(),
        list(TaxRate.objects.order_by("country", "region").values_list("country", "region", "rate")),
        list(DiscountCode.objects.order_by("code").values_list("code", "value")),
        get_user_model().objects.count(),
        (run_dir / "admin-password").read_text(),
    )
    assert after == before


def test_seeding_again_keeps_the_stock_of_a_running_shop(db, run_dir, make_cart):
    seed()
    sku = next(sku for sku, stock in DEMO_STOCK.items() if stock >= 3)
    variant = Variant.objects.get(sku=sku)
    cart = make_cart({variant: 2})
    checkout_services.start_checkout(cart_id=cart.pk)
    inventory.commit(holder_id=cart.pk, items={variant.pk: 2}, order_id=None)
    movements = StockMovement.objects.count()

    seed()

    assert Stock.objects.get(variant=variant).on_hand == DEMO_STOCK[sku] - 2
    assert StockMovement.objects.count() == movements


@pytest.mark.django_db
def test_seeding_again_keeps_staff_edits_to_demo_products(run_dir):  # run_dir: no admin-password in the repo's .run/
    from decimal import Decimal

    from moneyed import Money

    from catalog.models import Variant

    call_command("seed_demo", "--without-images", stdout=StringIO())
    variant = Variant.objects.get(sku="LINEN-SHIRT-S")
    variant.price = Money(Decimal("61.00"), "USD")
    variant.is_active = False
    variant.save()

    call_command("seed_demo", "--without-images", stdout=StringIO())

    variant.refresh_from_db()
    assert (variant.price.amount, variant.is_active) == (Decimal("61.00"), False)


def test_seeding_again_keeps_staff_edits_to_zones_rates_and_codes(db, run_dir):
    seed()
    ShippingZone.objects.filter(name="European Union").update(countries=["DE", "FR"])
    ShippingMethod.objects.filter(zone__name="Japan", code="express").update(price_usd=Decimal("30.00"), is_active=False)
    TaxRate.objects.filter(country="DE", region="", category=None).update(rate=Decimal("16.00"))
    DiscountCode.objects.filter(code="WELCOME10").update(value=Decimal("5"), is_active=False)

    output = seed()

    assert sorted(c.code for c in ShippingZone.objects.get(name="European Union").countries) == ["DE", "FR"]
    express = ShippingMethod.objects.get(zone__name="Japan", code="express")
    assert (express.price_usd, express.is_active) == (Decimal("30.00"), False)
    assert TaxRate.objects.get(country="DE", region="", category=None).rate == Decimal("16.00")
    welcome = DiscountCode.objects.get(code="WELCOME10")
    assert (welcome.value, welcome.is_active) == (Decimal("5.00"), False)
    assert "Demo shipping zones: 4 (0 new)." in output and "Demo discount codes: 4 (0 new)." in output


# --- exchange rates: demo rates come from the seed, never from a migration --------------


def test_a_fresh_database_has_no_exchange_rates_and_the_check_says_so(db):
    from django.core.checks import run_checks

    from currencies.models import CurrencyRate

    assert not CurrencyRate.objects.exists()  # migrations seed none, production starts empty
    warnings = [m for m in run_checks(databases=["default"]) if m.id == "shop.W002"]
    assert len(warnings) == 1
    assert "EUR, GBP, JPY, CAD, AUD, CHF, SEK, KWD" in warnings[0].msg
    assert "update_rates" in warnings[0].hint


def test_seed_stores_the_demo_rates_and_the_check_is_quiet(db, run_dir):
    from django.core.checks import run_checks

    from currencies import rates
    from currencies.providers import FIXED_DEMO_RATES

    output = seed()

    assert "Demo exchange rates stored: AUD, CAD, CHF, EUR, GBP, JPY, KWD, SEK." in output
    assert rates.current_rate("EUR") == FIXED_DEMO_RATES["EUR"] and rates.current_rate("KWD") == FIXED_DEMO_RATES["KWD"]
    assert [m.id for m in run_checks(databases=["default"]) if m.id == "shop.W002"] == []


def test_seed_leaves_rates_the_shop_already_has(db, run_dir, known_rates):
    from currencies import rates
    from tests.support.rates import KNOWN

    output = seed()

    assert "Demo exchange rates" not in output
    assert rates.current_rate("EUR") == Decimal(KNOWN["EUR"])
