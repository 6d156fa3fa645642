"""The catalog file's other sections: shipping zones, tax rates and discount codes (and
the products' weights). Each upserts by its natural key; a bad entry anywhere changes
nothing, not even the file's products, and says which entry is wrong."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line
from django.db import connections

from catalog.models import Category, Product, Variant
from checkout.imports import import_catalog
from discounts.models import DiscountCode
from inventory.models import StockMovement
from shipping import selectors as shipping
from shipping.models import ShippingMethod, ShippingZone, WeightStep
from shop.errors import InvalidInput
from taxes.models import TaxRate
from tests.support.shipping import make_method, make_zone

FILE = {
    "products": [
        {
            "slug": "rain-jacket", "name": "Rain jacket", "category": "Outerwear", "weight_grams": 1200,
            "variants": [
                {"sku": "RAIN-M", "price_usd": "120.00", "stock": 5},
                {"sku": "RAIN-XL", "price_usd": "120.00", "stock": 2, "weight_grams": 1400},
            ],
        },
        {"slug": "wool-socks", "name": "Wool socks", "category": "Accessories", "variants": [{"sku": "SOCKS", "price_usd": "9.99", "stock": 40}]},
    ],
    "shipping_zones": [
        {
            "name": "Europe",
            "countries": ["DE", "FR", "AT"],
            "methods": [
                {"code": "standard", "name": "Standard", "price_usd": "7.50", "free_over_usd": "100.00", "min_days": 3, "max_days": 6},
                {
                    "code": "express", "name": "Express", "price_usd": "19.00", "min_days": 1, "max_days": 3,
                    "weight_steps": [{"up_to_grams": 5000, "price_usd": "29.00"}, {"up_to_grams": 1000, "price_usd": "19.00"}],
                },
            ],
        },
        {"name": "Rest of world", "countries": "*", "methods": [{"code": "international", "name": "International", "price_usd": "19.50", "min_days": 7, "max_days": 14}]},
    ],
    "tax_rates": [
        {"country": "DE", "name": "VAT", "rate": "19.00"},
        {"country": "DE", "name": "VAT", "rate": "7", "category": "accessories"},
        {"country": "US", "region": "ca", "name": "Sales tax", "rate": "7.25", "shipping_taxable": False},
    ],
    "discount_codes": [
        {
            "code": "welcome10", "kind": "percent", "value": "10", "per_customer_limit": 1,
            "starts_at": "2026-01-01T00:00:00+01:00", "ends_at": "2026-12-31T23:00:00Z",
        },
        {"code": "SHIPFREE", "kind": "free_shipping", "min_subtotal_usd": "40"},
        {"code": "JACKET5", "kind": "fixed", "value": "5.00", "usage_limit": 100, "categories": ["outerwear"], "products": ["rain-jacket"]},
    ],
}


def run_import(data, tmp_path, name: str = "catalog.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    out = StringIO()
    call_command("import_catalog", str(path), stdout=out)
    return out.getvalue()


def state() -> dict:
    """Everything an import may write, to show a refused one wrote nothing."""
    return {
        "products": list(Product.objects.order_by("slug").values_list("slug", "name", "weight_grams")),
        "variants": list(Variant.objects.order_by("sku").values_list("sku", "price", "weight_grams")),
        "categories": list(Category.objects.order_by("slug").values_list("slug", flat=True)),
        "movements": StockMovement.objects.count(),
        "zones": [(z.name, [c.code for c in z.countries], z.rest_of_world) for z in ShippingZone.objects.order_by("name")],
        "methods": list(ShippingMethod.objects.order_by("zone__name", "code").values_list("zone__name", "code", "price_usd", "free_over_usd")),
        "steps": list(WeightStep.objects.order_by("method__code", "up_to_grams").values_list("method__code", "up_to_grams", "price_usd")),
        "rates": list(TaxRate.objects.order_by("country", "region", "category__slug").values_list("country", "region", "category__slug", "rate")),
        "codes": list(DiscountCode.objects.order_by("code").values_list("code", "kind", "value")),
    }


def method(zone: str, code: str) -> ShippingMethod:
    return ShippingMethod.objects.get(zone__name=zone, code=code)


def test_a_file_with_every_section_imports_them_all_and_prints_the_counts(db, tmp_path):
    output = run_import(FILE, tmp_path)

    assert "2 products created" in output
    assert "2 shipping zones (2 created, 0 updated)" in output
    assert "3 shipping methods (3 created, 0 updated)" in output
    assert "3 tax rates (3 created, 0 updated)" in output
    assert "3 discount codes (3 created, 0 updated)" in output

    europe, world = ShippingZone.objects.get(name="Europe"), ShippingZone.objects.get(name="Rest of world")
    assert (sorted(c.code for c in europe.countries), europe.rest_of_world) == (["AT", "DE", "FR"], False)
    assert (list(world.countries), world.rest_of_world) == ([], True)
    standard = method("Europe", "standard")
    assert (standard.price_usd, standard.free_over_usd, standard.min_days, standard.max_days, standard.is_active) == (
        Decimal("7.50"), Decimal("100.00"), 3, 6, True
    )
    assert list(method("Europe", "express").weight_steps.values_list("up_to_grams", "price_usd")) == [
        (1000, Decimal("19.00")), (5000, Decimal("29.00"))
    ]
    # What checkout reads: the zone of a country, a method priced for a parcel's weight.
    assert [(q.code, q.price_usd) for q in shipping.methods_for("DE", 1500)] == [("standard", Decimal("7.50")), ("express", Decimal("29.00"))]
    assert [q.code for q in shipping.methods_for("DE", 6000)] == ["standard"]
    assert [q.code for q in shipping.methods_for("BR", 6000)] == ["international"]

    general = TaxRate.objects.get(country="DE", category=None)
    assert (general.name, general.rate, general.shipping_taxable) == ("VAT", Decimal("19.00"), True)
    assert TaxRate.objects.get(country="DE", category__slug="accessories").rate == Decimal("7.00")
    california = TaxRate.objects.get(country="US")
    assert (california.region, california.rate, california.shipping_taxable) == ("CA", Decimal("7.25"), False)

    welcome = DiscountCode.objects.get(code="WELCOME10")
    assert (welcome.kind, welcome.value, welcome.per_customer_limit, welcome.usage_limit) == ("percent", Decimal("10"), 1, None)
    assert welcome.starts_at == datetime(2025, 12, 31, 23, tzinfo=timezone.utc)
    assert welcome.ends_at == datetime(2026, 12, 31, 23, tzinfo=timezone.utc)
    shipfree = DiscountCode.objects.get(code="SHIPFREE")
    assert (shipfree.kind, shipfree.value, shipfree.min_subtotal_usd) == ("free_shipping", None, Decimal("40.00"))
    jacket = DiscountCode.objects.get(code="JACKET5")
    assert (jacket.value, jacket.usage_limit) == (Decimal("5.00"), 100)
    assert [c.slug for c in jacket.categories.all()] == ["outerwear"]
    assert [p.slug for p in jacket.products.all()] == ["rain-jacket"]

    assert Product.objects.get(slug="rain-jacket").weight_grams == 1200
    weights = {v.sku: v.shipping_weight_grams for v in Variant.objects.select_related("product")}
    assert weights == {"RAIN-M": 1200, "RAIN-XL": 1400, "SOCKS": 0}


def test_a_second_run_updates_by_natural_key(db, tmp_path):
    run_import(FILE, tmp_path)
    DiscountCode.objects.filter(code="WELCOME10").update(is_active=False)  # staff switched it off
    second = copy.deepcopy(FILE)
    europe = second["shipping_zones"][0]
    europe["countries"].append("IT")
    del europe["methods"][0]["free_over_usd"]  # an entry is the whole row: cleared
    europe["methods"][0]["price_usd"] = "8.00"
    del europe["methods"][1]["weight_steps"]  # left out: the steps stay
    second["shipping_zones"][1]["methods"][0]["weight_steps"] = [{"up_to_grams": 2000, "price_usd": "21.00"}]
    second["shipping_zones"].append(
        {"name": "Japan", "countries": ["JP"], "methods": [{"code": "standard", "name": "Standard", "price_usd": "9.00", "min_days": 4, "max_days": 8}]}
    )
    second["tax_rates"][0]["rate"] = "19.50"
    second["tax_rates"][2]["region"] = "CA"
    second["discount_codes"][0].update(code="Welcome10", value="15")
    second["discount_codes"][2]["categories"] = []

    output = run_import(second, tmp_path, "second.json")

    assert "3 shipping zones (1 created, 2 updated)" in output
    assert "4 shipping methods (1 created, 3 updated)" in output
    assert "3 tax rates (0 created, 3 updated)" in output
    assert "3 discount codes (0 created, 3 updated)" in output
    assert (ShippingZone.objects.count(), ShippingMethod.objects.count(), TaxRate.objects.count(), DiscountCode.objects.count()) == (3, 4, 3, 3)
    assert sorted(c.code for c in ShippingZone.objects.get(name="Europe").countries) == ["AT", "DE", "FR", "IT"]
    assert (method("Europe", "standard").price_usd, method("Europe", "standard").free_over_usd) == (Decimal("8.00"), None)
    assert method("Europe", "express").weight_steps.count() == 2
    assert list(method("Rest of world", "international").weight_steps.values_list("up_to_grams", "price_usd")) == [(2000, Decimal("21.00"))]
    assert TaxRate.objects.get(country="DE", category=None).rate == Decimal("19.50")
    welcome = DiscountCode.objects.get(code="WELCOME10")
    assert (welcome.value, welcome.is_active) == (Decimal("15.00"), False)  # a re-import never revives a code
    jacket = DiscountCode.objects.get(code="JACKET5")
    assert (jacket.categories.count(), jacket.products.count()) == (0, 1)


def test_importing_the_same_file_twice_changes_nothing(db, tmp_path):
    run_import(FILE, tmp_path)
    before = state()

    output = run_import(FILE, tmp_path, "again.json")

    assert state() == before
    assert "2 shipping zones (0 created, 2 updated)" in output


def test_a_file_may_carry_only_a_section(db, tmp_path):
    output = run_import({"products": [], "tax_rates": [{"country": "JP", "name": "Consumption tax", "rate": "10"}]}, tmp_path)

    assert "1 tax rates (1 created, 0 updated)" in output
    assert "shipping zones" not in output
    assert TaxRate.objects.get(country="JP").rate == Decimal("10.00")


def test_a_zone_may_become_the_rest_of_the_world_when_the_old_one_stops_being_it(db):
    old = ShippingZone.objects.create(name="World", rest_of_world=True)
    data = {
        "products": [],
        "shipping_zones": [
            {"name": "Everywhere else", "countries": "*", "methods": [{"code": "post", "name": "Post", "price_usd": "20.00", "min_days": 7, "max_days": 20}]},
            {"name": "World", "countries": ["BR"], "methods": [{"code": "post", "name": "Post", "price_usd": "15.00", "min_days": 5, "max_days": 9}]},
        ],
    }

    import_catalog(data)

    old.refresh_from_db()
    assert ([c.code for c in old.countries], old.rest_of_world) == (["BR"], False)
    assert ShippingZone.objects.get(name="Everywhere else").rest_of_world


# --- a bad entry: nothing written, the entry named ----------------------------------------


def changed(section: str, index: int, **changes) -> dict:
    data = copy.deepcopy(FILE)
    data[section][index].update(changes)
    return data


def europe_method(index: int, **changes) -> dict:
    data = copy.deepcopy(FILE)
    data["shipping_zones"][0]["methods"][index].update(changes)
    return data


def with_variant(**changes) -> dict:
    data = copy.deepcopy(FILE)
    data["products"][0]["variants"][1].update(changes)
    return data


def plus(section: str, entry: dict) -> dict:
    data = copy.deepcopy(FILE)
    data[section].append(entry)
    return data


def international(code: str = "post") -> list[dict]:
    return [{"code": code, "name": "Post", "price_usd": "20.00", "min_days": 7, "max_days": 20}]


BAD = {
    "unknown country": (changed("shipping_zones", 0, countries=["DE", "XX"]), "shipping_zones[0] (Europe).countries[1]", "ISO 3166"),
    "lower-case country": (changed("shipping_zones", 0, countries=["de"]), "shipping_zones[0] (Europe).countries[0]", "ISO 3166"),
    "country in two zones": (
        plus("shipping_zones", {"name": "Germany", "countries": ["DE"], "methods": international()}),
        "shipping_zones[2] (Germany).countries", "DE is also in shipping_zones[0] (Europe)",
    ),
    "country in a zone of the shop the file does not list": (
        changed("shipping_zones", 0, countries=["DE", "CH"]), "shipping_zones[0] (Europe).countries", "CH (in Switzerland)",
    ),
    "two rest-of-world zones": (
        plus("shipping_zones", {"name": "Elsewhere", "countries": "*", "methods": international()}),
        "shipping_zones[2] (Elsewhere).countries", "already shipping_zones[1] (Rest of world)",
    ),
    "no countries": (changed("shipping_zones", 0, countries=[]), "shipping_zones[0] (Europe).countries", "non-empty list"),
    "zone name twice": (plus("shipping_zones", {"name": "Europe", "countries": ["IT"], "methods": international()}), "shipping_zones[2].name", "twice"),
    "method code twice": (europe_method(1, code="standard"), "shipping_zones[0] (Europe).methods[1].code", "twice"),
    "bad method price": (europe_method(1, price_usd="19.999"), "shipping_zones[0] (Europe).methods[1] (express).price_usd", "2 decimals"),
    "price too large to store": (europe_method(0, price_usd="1e100"), "methods[0] (standard).price_usd", "less than 10000000000"),
    "price as a float": (europe_method(0, free_over_usd=100.0), "methods[0] (standard).free_over_usd", "decimal string"),
    "min_days over max_days": (europe_method(0, min_days=7), "shipping_zones[0] (Europe).methods[0] (standard).max_days", "at least min_days (7)"),
    "a year of delivery": (europe_method(0, max_days=400), "methods[0] (standard).max_days", "from 0 to 365"),
    "a typo of a key": (europe_method(0, free_over="100.00"), "methods[0] (standard).free_over", "not a key"),
    "weight step of 0 grams": (
        europe_method(1, weight_steps=[{"up_to_grams": 0, "price_usd": "1.00"}]),
        "methods[1] (express).weight_steps[0].up_to_grams", "whole number from 1",
    ),
    "variant weight over ten tonnes": (with_variant(weight_grams=10_000_001), "products[0] (rain-jacket).variants[1] (RAIN-XL).weight_grams", "from 0 to 10,000,000"),
    "variant weight as text": (with_variant(weight_grams="1400"), "variants[1] (RAIN-XL).weight_grams", "whole number"),
    "negative product weight": (
        {**FILE, "products": [{**FILE["products"][0], "weight_grams": -1}, FILE["products"][1]]},
        "products[0] (rain-jacket).weight_grams", "whole number",
    ),
    "rate over 100": (changed("tax_rates", 0, rate="101"), "tax_rates[0] (DE).rate", "from 0 to 100"),
    "rate with 3 decimals": (changed("tax_rates", 0, rate="19.125"), "tax_rates[0] (DE).rate", "2 decimals"),
    "rate as a number of the wrong kind": (changed("tax_rates", 0, rate=19.5), "tax_rates[0] (DE).rate", "decimal string"),
    "tax country unknown": (changed("tax_rates", 0, country="EU"), "tax_rates[0].country", "ISO 3166"),
    "tax category unknown": (changed("tax_rates", 1, category="books"), "tax_rates[1] (DE, books).category", "no category"),
    "tax destination twice": (changed("tax_rates", 1, category=None), "tax_rates[1]", "same country, region and category as tax_rates[0]"),
    "region with spaces": (changed("tax_rates", 2, region="New York"), "tax_rates[2] (US).region", "region code"),
    "shipping_taxable as text": (changed("tax_rates", 0, shipping_taxable="yes"), "tax_rates[0] (DE).shipping_taxable", "true or false"),
    "percent over 100": (changed("discount_codes", 0, value="100.01"), "discount_codes[0] (WELCOME10).value", "at most 100"),
    "percent of 0": (changed("discount_codes", 0, value="0"), "discount_codes[0] (WELCOME10).value", "more than 0"),
    "fixed without a value": (changed("discount_codes", 2, value=None), "discount_codes[2] (JACKET5).value", "more than 0"),
    "free shipping with a value": (changed("discount_codes", 1, value="5.00"), "discount_codes[1] (SHIPFREE).value", "left out"),
    "unknown kind": (changed("discount_codes", 1, kind="bogo"), "discount_codes[1] (SHIPFREE).kind", '"percent", "fixed"'),
    "ends before it starts": (changed("discount_codes", 0, ends_at="2025-06-01T00:00:00+00:00"), "discount_codes[0] (WELCOME10).ends_at", "after starts_at"),
    "a date without an offset": (changed("discount_codes", 0, starts_at="2026-01-01T00:00:00"), "discount_codes[0] (WELCOME10).starts_at", "offset"),
    "limit of 0": (changed("discount_codes", 2, usage_limit=0), "discount_codes[2] (JACKET5).usage_limit", "whole number of 1 or more"),
    "code twice, in other case": (plus("discount_codes", {"code": "Shipfree", "kind": "free_shipping"}), "discount_codes[3].code", "appears twice"),
    "code with a space": (changed("discount_codes", 1, code="SHIP FREE"), "discount_codes[1].code", "letters, digits"),
    "unknown category slug": (changed("discount_codes", 2, categories=["outerwear", "coats"]), "discount_codes[2] (JACKET5).categories[1]", "no category"),
    "unknown product slug": (changed("discount_codes", 2, products=["umbrella"]), "discount_codes[2] (JACKET5).products[0]", "no product"),
    "a section that is not a list": ({**FILE, "tax_rates": {"DE": "19"}}, "tax_rates", "must be a list"),
    "an unknown section": ({**FILE, "shipping_zone": []}, "shipping_zone", "not a section"),
    "NUL in a zone name": (changed("shipping_zones", 1, name="World\u0000"), "shipping_zones[1].name", "NUL"),
}


@pytest.fixture
def shop_with_a_zone(db):
    """A zone the files do not mention, and an import already made (products too)."""
    make_method(code="standard", name="Standard", price="12.00", zone=make_zone("Switzerland", ["CH"]))
    import_catalog({"products": [{"slug": "cap", "name": "Cap", "variants": [{"sku": "CAP", "price_usd": "15.00", "stock": 3}]}]})


@pytest.mark.parametrize("data, named, says", BAD.values(), ids=BAD.keys())
def test_a_bad_entry_changes_nothing_and_names_the_entry(shop_with_a_zone, data, named, says):
    before = state()

    with pytest.raises(InvalidInput) as exc:
        import_catalog(data)

    assert named in exc.value.message and says in exc.value.message, exc.value.message
    assert state() == before  # not even the file's own products and categories


def test_the_command_refuses_a_bad_file_with_the_message_and_a_non_zero_exit(shop_with_a_zone, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(connections, "close_all", lambda: None)  # the test's transaction stays open
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(changed("discount_codes", 0, value="150")), encoding="utf-8")
    before = state()

    with pytest.raises(SystemExit) as exc:
        execute_from_command_line(["manage.py", "import_catalog", str(path)])

    assert exc.value.code != 0
    err = capsys.readouterr().err
    assert "nothing imported" in err and "discount_codes[0] (WELCOME10).value" in err
    assert state() == before


def test_the_command_raises_the_message_when_called_from_code(shop_with_a_zone, tmp_path):
    with pytest.raises(CommandError) as exc:
        run_import(changed("shipping_zones", 0, countries=["DE", "CH"]), tmp_path)

    assert "shipping_zones[0] (Europe).countries: Already in another zone: CH (in Switzerland)." in str(exc.value)


def test_a_second_rest_of_world_zone_beside_the_shops_is_refused(shop_with_a_zone):
    ShippingZone.objects.create(name="World", rest_of_world=True)
    before = state()

    with pytest.raises(InvalidInput) as exc:
        import_catalog(FILE)

    assert exc.value.message.startswith("shipping_zones[1] (Rest of world).countries: \"*\": the zone 'World' is already the rest of the world")
    assert state() == before


# --- only_new: the demo seed adds what is missing and leaves staff's edits alone ----------


def test_only_new_leaves_edited_zones_rates_and_codes_alone_and_adds_what_is_missing(db):
    import_catalog(FILE)
    ShippingZone.objects.filter(name="Europe").update(countries=["DE"])
    ShippingMethod.objects.filter(code="standard").update(price_usd=Decimal("5.00"))
    TaxRate.objects.filter(country="DE", category=None).update(rate=Decimal("16.00"))
    DiscountCode.objects.filter(code="WELCOME10").update(value=Decimal("20"))
    DiscountCode.objects.filter(code="SHIPFREE").delete()
    WeightStep.objects.filter(up_to_grams=5000).delete()
    Product.objects.filter(slug="rain-jacket").update(weight_grams=900)

    result = import_catalog(FILE, only_new=True)

    assert [c.code for c in ShippingZone.objects.get(name="Europe").countries] == ["DE"]
    assert method("Europe", "standard").price_usd == Decimal("5.00")
    assert list(method("Europe", "express").weight_steps.values_list("up_to_grams", flat=True)) == [1000]
    assert TaxRate.objects.get(country="DE", category=None).rate == Decimal("16.00")
    assert DiscountCode.objects.get(code="WELCOME10").value == Decimal("20.00")
    assert DiscountCode.objects.get(code="SHIPFREE").kind == "free_shipping"  # missing, so created again
    assert Product.objects.get(slug="rain-jacket").weight_grams == 900
    counts = {label: (c.created, c.updated, c.kept) for label, c in result.sections.items()}
    assert counts == {
        "shipping zones": (0, 0, 2),
        "shipping methods": (0, 0, 3),
        "tax rates": (0, 0, 3),
        "discount codes": (1, 0, 2),
    }


def test_only_new_leaves_out_a_new_zone_whose_countries_staff_put_elsewhere(db):
    make_zone("Germany", ["DE"])  # staff's own arrangement

    result = import_catalog(FILE, only_new=True)

    assert not ShippingZone.objects.filter(name="Europe").exists()
    assert ShippingZone.objects.get(name="Rest of world").rest_of_world
    assert (result.sections["shipping zones"].created, result.sections["shipping zones"].kept) == (1, 1)


# --- weights --------------------------------------------------------------------------


def test_a_weight_left_out_stays_and_null_clears_it(db):
    import_catalog(FILE)
    data = copy.deepcopy(FILE)
    del data["products"][0]["weight_grams"]
    data["products"][0]["variants"][1]["weight_grams"] = None

    import_catalog(data)

    assert Product.objects.get(slug="rain-jacket").weight_grams == 1200
    assert Variant.objects.get(sku="RAIN-XL").weight_grams is None
