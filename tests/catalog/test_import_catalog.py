"""`manage.py import_catalog FILE.json`: upsert by SKU, stock through the ledger, and a
bad file changes nothing and names the wrong entry."""
from __future__ import annotations

import copy
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Category, Product, Variant
from inventory import services as inventory
from inventory.models import Stock, StockMovement
from inventory.selectors import ledger_balance
from checkout import services as checkout_services

CATALOG = {
    "products": [
        {
            "slug": "linen-shirt",
            "name": "Linen shirt",
            "description": "Washed linen.",
            "category": "Shirts",
            "variants": [
                {"sku": "LINEN-S", "attributes": {"size": "S"}, "price_usd": "59.00", "stock": 12, "low_stock_threshold": 2},
                {"sku": "LINEN-M", "name": "Medium", "attributes": {"size": "M"}, "price_usd": "59.00", "stock": 0},
            ],
        },
        {"slug": "wool-socks", "name": "Wool socks", "variants": [{"sku": "SOCKS", "price_usd": "9.99", "stock": 40}]},
    ]
}


@pytest.fixture
def catalog_file(tmp_path):
    """catalog_file(data) -> path of a file holding `data` as JSON (or raw text)."""

    def write(data, name: str = "catalog.json"):
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        return path

    return write


def run_import(path) -> str:
    out = StringIO()
    call_command("import_catalog", str(path), stdout=out)
    return out.getvalue()


def catalog_state() -> dict:
    return {
        "products": list(Product.objects.order_by("slug").values_list("slug", "name", "description", "category__slug", "is_active")),
        "variants": list(Variant.objects.order_by("sku").values_list("sku", "product__slug", "name", "attributes", "price", "is_active")),
        "stock": list(Stock.objects.order_by("variant__sku").values_list("variant__sku", "on_hand", "reserved", "low_stock_threshold")),
        "categories": Category.objects.count(),
        "movements": StockMovement.objects.count(),
    }


def on_hand(sku: str) -> int:
    return Stock.objects.get(variant__sku=sku).on_hand


def test_first_import_creates_the_catalog_with_stock_through_the_ledger(db, catalog_file):
    output = run_import(catalog_file(CATALOG))

    shirt = Product.objects.get(slug="linen-shirt")
    assert (shirt.name, shirt.description, shirt.category.name) == ("Linen shirt", "Washed linen.", "Shirts")
    assert list(shirt.variants.order_by("position").values_list("sku", flat=True)) == ["LINEN-S", "LINEN-M"]
    medium = Variant.objects.get(sku="LINEN-M")
    assert (medium.name, medium.attributes, medium.price.amount, str(medium.price.currency)) == ("Medium", {"size": "M"}, Decimal("59.00"), "USD")
    assert (on_hand("LINEN-S"), on_hand("LINEN-M"), on_hand("SOCKS")) == (12, 0, 40)
    assert Stock.objects.get(variant__sku="LINEN-S").low_stock_threshold == 2
    movements = StockMovement.objects.order_by("variant__sku")
    assert [(m.variant.sku, m.delta, m.reason, m.balance_after) for m in movements] == [
        ("LINEN-S", 12, StockMovement.Reason.IMPORT, 12),
        ("SOCKS", 40, StockMovement.Reason.IMPORT, 40),
    ]
    for sku in ("LINEN-S", "LINEN-M", "SOCKS"):
        assert ledger_balance(Variant.objects.get(sku=sku).pk) == on_hand(sku)
    assert "2 products created" in output and "3 variants created" in output
    assert "2 stock movements" in output


def test_second_import_updates_by_sku_with_one_movement_per_changed_variant(db, catalog_file):
    run_import(catalog_file(CATALOG))
    updated = copy.deepcopy(CATALOG)
    updated["products"][0]["name"] = "Linen shirt, washed"
    updated["products"][0]["variants"][0].update(price_usd="49.50", stock=7)  # fewer
    updated["products"][0]["variants"][1].update(stock=5)  # more
    # SOCKS unchanged
    movements_before = StockMovement.objects.count()

    output = run_import(catalog_file(updated, "second.json"))

    assert Product.objects.count() == 2 and Variant.objects.count() == 3
    assert Product.objects.get(slug="linen-shirt").name == "Linen shirt, washed"
    assert Variant.objects.get(sku="LINEN-S").price.amount == Decimal("49.50")
    assert (on_hand("LINEN-S"), on_hand("LINEN-M"), on_hand("SOCKS")) == (7, 5, 40)
    new = StockMovement.objects.order_by("pk")[movements_before:]
    assert sorted((m.variant.sku, m.delta, m.reason, m.balance_after) for m in new) == [
        ("LINEN-M", 5, StockMovement.Reason.IMPORT, 5),
        ("LINEN-S", -5, StockMovement.Reason.IMPORT, 7),
    ]
    for sku in ("LINEN-S", "LINEN-M", "SOCKS"):
        assert ledger_balance(Variant.objects.get(sku=sku).pk) == on_hand(sku)
    assert "0 products created, 2 updated" in output and "0 variants created, 3 updated" in output
    assert "2 stock movements" in output


def test_importing_the_same_file_twice_writes_no_movement(db, catalog_file):
    path = catalog_file(CATALOG)
    run_import(path)
    before = catalog_state()

    run_import(path)

    assert catalog_state() == before


def test_import_sets_the_counted_figure_after_sales(db, catalog_file, make_cart):
    run_import(catalog_file(CATALOG))
    socks = Variant.objects.get(sku="SOCKS")
    cart = make_cart({socks: 3})
    checkout_services.start_checkout(cart_id=cart.pk)
    inventory.commit(holder_id=cart.pk, items={socks.pk: 3}, order_id=None)  # 37 left
    movements_before = StockMovement.objects.count()

    run_import(catalog_file(CATALOG, "recount.json"))

    assert on_hand("SOCKS") == 40
    (movement,) = StockMovement.objects.order_by("pk")[movements_before:]
    assert (movement.variant.sku, movement.delta, movement.balance_after) == ("SOCKS", 3, 40)


def with_variant(**changes) -> dict:
    """CATALOG with its last variant (SOCKS, in the second product) changed."""
    data = copy.deepcopy(CATALOG)
    data["products"][1]["variants"][0].update(changes)
    return data


def without(key: str) -> dict:
    data = copy.deepcopy(CATALOG)
    del data["products"][1][key]
    return data


BAD_FILES = {
    "missing slug": (without("slug"), "products[1].slug"),
    "bad slug": ({"products": [CATALOG["products"][0], {**CATALOG["products"][1], "slug": "Wool Socks"}]}, "products[1].slug"),
    "missing name": (without("name"), "products[1] (wool-socks).name"),
    "no variants": (without("variants"), "products[1] (wool-socks).variants"),
    "price not a number": (with_variant(price_usd="abc"), "variants[0] (SOCKS).price_usd"),
    "price with 3 decimals": (with_variant(price_usd="1.999"), "variants[0] (SOCKS).price_usd"),
    "negative price": (with_variant(price_usd="-1.00"), "variants[0] (SOCKS).price_usd"),
    "price as a float": (with_variant(price_usd=9.99), "variants[0] (SOCKS).price_usd"),
    "missing price": (with_variant(price_usd=None), "variants[0] (SOCKS).price_usd"),
    "negative stock": (with_variant(stock=-1), "variants[0] (SOCKS).stock"),
    "stock as text": (with_variant(stock="40"), "variants[0] (SOCKS).stock"),
    "fractional stock": (with_variant(stock=1.5), "variants[0] (SOCKS).stock"),
    "huge stock": (with_variant(stock=2**40), "variants[0] (SOCKS).stock"),
    "negative threshold": (with_variant(low_stock_threshold=-2), "variants[0] (SOCKS).low_stock_threshold"),
    "duplicate SKU": (with_variant(sku="LINEN-S"), "'LINEN-S' appears twice"),
    "SKU too long": (with_variant(sku="X" * 65), "products[1] (wool-socks).variants[0].sku"),
    "attributes not an object": (with_variant(attributes=["wool"]), "variants[0] (SOCKS).attributes"),
    "name too long": ({"products": [CATALOG["products"][0], {**CATALOG["products"][1], "name": "n" * 201}]}, "products[1] (wool-socks).name"),
    "NUL in a name": (with_variant(name="Socks\u0000"), "products[1].variants[0].name"),
    "NUL in an attribute": (with_variant(attributes={"size": "M\u0000"}), "products[1].variants[0].attributes.size"),
    "no products list": ({"items": []}, "products"),
    "a list, not an object": ([CATALOG], "products"),
}


@pytest.mark.parametrize("data, named", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_changes_nothing_and_names_the_entry(db, catalog_file, data, named):
    run_import(catalog_file({"products": [{**CATALOG["products"][1], "name": "Old socks name"}]}, "existing.json"))
    before = catalog_state()

    with pytest.raises(CommandError) as exc:
        run_import(catalog_file(data))

    assert named in str(exc.value)
    assert "nothing imported" in str(exc.value)
    assert catalog_state() == before


@pytest.mark.parametrize("text", ["{not json", "", '{"products": [', "\udcff"])
def test_a_file_that_is_not_json_changes_nothing(db, catalog_file, tmp_path, text):
    path = tmp_path / "broken.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))

    with pytest.raises(CommandError) as exc:
        run_import(path)

    assert "not valid JSON" in str(exc.value)
    assert catalog_state()["products"] == [] and StockMovement.objects.count() == 0


def test_a_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError) as exc:
        run_import(tmp_path / "nope.json")

    assert "no such file" in str(exc.value)
    assert not Product.objects.exists()


def test_a_directory_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError) as exc:
        run_import(tmp_path)

    assert "cannot be read" in str(exc.value)


def test_a_sku_of_another_product_changes_nothing(db, catalog_file):
    run_import(catalog_file(CATALOG))
    before = catalog_state()
    moved = copy.deepcopy(CATALOG)
    moved["products"][0]["name"] = "Renamed first"
    moved["products"][1]["variants"].append({"sku": "LINEN-M", "price_usd": "1.00", "stock": 1})
    moved["products"][0]["variants"].pop()

    with pytest.raises(CommandError) as exc:
        run_import(catalog_file(moved, "moved.json"))

    assert "variants[1] (LINEN-M).sku" in str(exc.value) and "linen-shirt" in str(exc.value)
    assert catalog_state() == before


def test_stock_below_what_carts_hold_changes_nothing_and_names_the_entry(db, catalog_file, make_cart):
    run_import(catalog_file(CATALOG))
    socks = Variant.objects.get(sku="SOCKS")
    checkout_services.start_checkout(cart_id=make_cart({socks: 30}).pk)
    before = catalog_state()
    recount = copy.deepcopy(CATALOG)
    recount["products"][0]["variants"][0]["stock"] = 3  # a valid change before the bad one
    recount["products"][1]["variants"][0]["stock"] = 10

    with pytest.raises(CommandError) as exc:
        run_import(catalog_file(recount, "recount.json"))

    assert "products[1] (wool-socks).variants[0] (SOCKS).stock" in str(exc.value)
    assert catalog_state() == before
