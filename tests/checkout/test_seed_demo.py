"""`manage.py seed_demo`: the demo catalog, shipping methods and an admin user, safe to
run on every start."""
from __future__ import annotations

import json
from decimal import Decimal
import stat
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from cart.models import ShippingMethod
from checkout.management.commands.seed_demo import DEMO_FILE
from catalog.models import Product, Variant
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


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_creates_the_demo_catalog_with_stock_through_the_ledger(db, run_dir):
    seed()

    assert set(Product.objects.values_list("slug", flat=True)) == {p["slug"] for p in DEMO["products"]}
    assert dict(Stock.objects.values_list("variant__sku", "on_hand")) == DEMO_STOCK
    for variant in Variant.objects.all():
        assert ledger_balance(variant.pk) == DEMO_STOCK[variant.sku]
    assert StockMovement.objects.count() == sum(1 for stock in DEMO_STOCK.values() if stock)


def test_seed_creates_the_shipping_methods(db, run_dir):
    seed()

    methods = list(ShippingMethod.objects.filter(is_active=True).values_list("code", "price"))
    assert [(code, str(price)) for code, price in methods] == [("standard", "4.95"), ("express", "14.90")]


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
        ShippingMethod.objects.count(),
        get_user_model().objects.count(),
        (run_dir / "admin-password").read_text(),
    )

    seed()

    after = (
        list(Product.objects.order_by("slug").values_list("slug", "name")),
        list(Variant.objects.order_by("sku").values_list("sku", "price")),
        list(Stock.objects.order_by("variant__sku").values_list("variant__sku", "on_hand")),
        StockMovement.objects.count(),
        ShippingMethod.objects.count(),
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

    call_command("seed_demo", stdout=StringIO())
    variant = Variant.objects.get(sku="LINEN-SHIRT-S")
    variant.price = Money(Decimal("61.00"), "USD")
    variant.is_active = False
    variant.save()

    call_command("seed_demo", stdout=StringIO())

    variant.refresh_from_db()
    assert (variant.price.amount, variant.is_active) == (Decimal("61.00"), False)


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
