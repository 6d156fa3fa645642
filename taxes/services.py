"""Writing tax rates: the catalog file's "tax_rates" (staff edit them in admin)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from catalog.models import Category
from catalog.services import Upserted, country_field, decimal_field, fail, known_keys, no_nul, text_field
from taxes.models import TaxRate
from taxes.selectors import normalize_region

MAX_NAME_LENGTH = TaxRate._meta.get_field("name").max_length
MAX_REGION_LENGTH = TaxRate._meta.get_field("region").max_length
REGION = re.compile(rf"[A-Z0-9-]{{1,{MAX_REGION_LENGTH}}}")
RATE_KEYS = {"country", "region", "name", "rate", "shipping_taxable", "category"}


@dataclass(frozen=True)
class RateEntry:
    country: str
    region: str  # "" for the whole country
    category: Category | None
    name: str
    rate: Decimal
    shipping_taxable: bool


def _region(value: Any, where: str) -> str:
    if value is None or value == "":
        return ""
    region = normalize_region(value) if isinstance(value, str) else None
    if region is None or not REGION.fullmatch(region):
        fail(where, f'must be a region code as addresses write it, like "CA": up to {MAX_REGION_LENGTH} letters, digits or hyphens')
    return region


def _category(value: Any, where: str) -> Category | None:
    if value is None:
        return None
    category = Category.objects.filter(slug=value).first() if isinstance(value, str) else None
    if category is None:
        fail(where, f"there is no category with the slug {value!r} (a product's category \"Outerwear\" has the slug 'outerwear')")
    return category


def _rate(entry: Any, index: int) -> RateEntry:
    where = f"tax_rates[{index}]"
    if not isinstance(entry, dict):
        fail(where, "must be an object")
    country = country_field(entry.get("country"), f"{where}.country")
    region = _region(entry.get("region"), f"{where} ({country}).region")
    label = f"{country}-{region}" if region else country
    if entry.get("category") is not None:
        label += f", {entry['category']}"
    where = f"{where} ({label})"
    known_keys(entry, where, RATE_KEYS)
    category = _category(entry.get("category"), f"{where}.category")
    name = text_field(entry.get("name"), f"{where}.name", max_length=MAX_NAME_LENGTH)
    rate = decimal_field(entry.get("rate"), f"{where}.rate", maximum=Decimal(100), example="19.00")
    shipping_taxable = entry.get("shipping_taxable", True)
    if not isinstance(shipping_taxable, bool):
        fail(f"{where}.shipping_taxable", "must be true or false")
    return RateEntry(country, region, category, name, rate, shipping_taxable)


def _parse_rates(entries: Any) -> list[RateEntry]:
    """Each entry well formed, its category known, and no destination twice in the file."""
    if not isinstance(entries, list):
        fail("tax_rates", "must be a list")
    no_nul(entries, "tax_rates")
    rates: list[RateEntry] = []
    first_at: dict[tuple[str, str, int | None], int] = {}
    for i, entry in enumerate(entries):
        rate = _rate(entry, i)
        key = (rate.country, rate.region, rate.category.pk if rate.category else None)
        if key in first_at:
            fail(f"tax_rates[{i}]", f"has the same country, region and category as tax_rates[{first_at[key]}]")
        first_at[key] = i
        rates.append(rate)
    return rates


def import_tax_rates(entries: Any, *, only_new: bool = False) -> dict[str, Upserted]:
    """The "tax_rates" of a catalog file: upsert by country + region + category (a region
    is matched in capitals, as checkout matches an address's). Every entry is checked
    before the first write; a bad one raises InvalidInput naming it (an unknown country or
    category slug, a rate outside 0..100 or with more than 2 decimals). An entry is the
    whole row: shipping_taxable left out is true. Rates the file does not list stay.

    only_new (the demo seed): create only the rates the shop lacks; a rate staff edited
    stays as it is.

    Returns the count of "tax rates". Locks nothing: checkouts only read rates.
    """
    rates = _parse_rates(entries)
    counts = Upserted()
    for entry in rates:
        row = TaxRate.objects.filter(country=entry.country, region=entry.region, category=entry.category).first()
        fields = {"name": entry.name, "rate": entry.rate, "shipping_taxable": entry.shipping_taxable}
        if row is None:
            TaxRate.objects.create(country=entry.country, region=entry.region, category=entry.category, **fields)
            counts.created += 1
        elif only_new:
            counts.kept += 1
        else:
            TaxRate.objects.filter(pk=row.pk).update(**fields)
            counts.updated += 1
    return {"tax rates": counts}
