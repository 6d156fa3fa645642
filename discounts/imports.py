"""Discount codes from the catalog file's "discount_codes" (staff edit them in admin)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from catalog.models import Category, Product
from catalog.services import MAX_COUNT, Upserted, decimal_field, fail, known_keys, no_nul, whole_number
from discounts.models import DiscountCode
from discounts.selectors import MAX_CODE_LENGTH, normalize_code

CODE = re.compile(rf"[A-Z0-9][A-Z0-9_-]{{0,{MAX_CODE_LENGTH - 1}}}")
CODE_KEYS = {
    "code", "kind", "value", "min_subtotal_usd", "starts_at", "ends_at",
    "usage_limit", "per_customer_limit", "categories", "products",
}
Kind = DiscountCode.Kind


@dataclass(frozen=True)
class CodeEntry:
    code: str
    kind: str
    value: Decimal | None
    min_subtotal_usd: Decimal | None
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    categories: tuple[Category, ...]
    products: tuple[Product, ...]


def _moment(value: Any, where: str) -> datetime | None:
    """A date and time with its offset: without one, "midnight" would be the server's."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        fail(where, 'must be an ISO 8601 date and time with its offset, like "2026-12-01T00:00:00+01:00"')
    return moment


def _value(kind: str, value: Any, where: str) -> Decimal | None:
    if kind == Kind.FREE_SHIPPING:
        if value is not None:
            fail(where, "must be left out for free shipping: the code takes the shipping off, no amount")
        return None
    if kind == Kind.PERCENT:
        return decimal_field(value, where, maximum=Decimal(100), above_minimum=True, example="10")
    return decimal_field(value, where, above_minimum=True, example="15.00")


def _slugs(value: Any, where: str, model: type[Category] | type[Product], what: str) -> tuple[Any, ...]:
    """The rows of a list of slugs, each of which must exist (the file's own products
    and their categories are imported before the codes)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(slug, str) for slug in value):
        fail(where, f"must be a list of {what} slugs")
    rows = {row.slug: row for row in model.objects.filter(slug__in=value)}
    for k, slug in enumerate(value):
        if slug not in rows:
            fail(f"{where}[{k}]", f"there is no {what} with the slug {slug!r}")
    return tuple(rows[slug] for slug in dict.fromkeys(value))


def _limit(value: Any, where: str) -> int | None:
    return None if value is None else whole_number(value, where, minimum=1, maximum=MAX_COUNT)


def _code(entry: Any, index: int, seen: dict[str, int]) -> CodeEntry:
    where = f"discount_codes[{index}]"
    if not isinstance(entry, dict):
        fail(where, "must be an object")
    code = normalize_code(entry["code"]) if isinstance(entry.get("code"), str) else ""
    if not CODE.fullmatch(code):
        fail(f"{where}.code", f"must be letters, digits, hyphens or underscores, at most {MAX_CODE_LENGTH}, like 'WELCOME10'")
    if code in seen:
        fail(f"{where}.code", f"{code!r} appears twice in the file (also discount_codes[{seen[code]}]; codes ignore case)")
    seen[code] = index
    where = f"{where} ({code})"
    known_keys(entry, where, CODE_KEYS)
    kind = entry.get("kind")
    if kind not in Kind.values:
        fail(f"{where}.kind", 'must be "percent", "fixed" or "free_shipping"')
    starts_at = _moment(entry.get("starts_at"), f"{where}.starts_at")
    ends_at = _moment(entry.get("ends_at"), f"{where}.ends_at")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        fail(f"{where}.ends_at", "must be after starts_at")
    min_subtotal = entry.get("min_subtotal_usd")
    return CodeEntry(
        code=code,
        kind=kind,
        value=_value(kind, entry.get("value"), f"{where}.value"),
        min_subtotal_usd=None if min_subtotal is None else decimal_field(min_subtotal, f"{where}.min_subtotal_usd"),
        starts_at=starts_at,
        ends_at=ends_at,
        usage_limit=_limit(entry.get("usage_limit"), f"{where}.usage_limit"),
        per_customer_limit=_limit(entry.get("per_customer_limit"), f"{where}.per_customer_limit"),
        categories=_slugs(entry.get("categories"), f"{where}.categories", Category, "category"),
        products=_slugs(entry.get("products"), f"{where}.products", Product, "product"),
    )


def _parse_codes(entries: Any) -> list[CodeEntry]:
    if not isinstance(entries, list):
        fail("discount_codes", "must be a list")
    no_nul(entries, "discount_codes")
    seen: dict[str, int] = {}
    return [_code(entry, i, seen) for i, entry in enumerate(entries)]


def import_discount_codes(entries: Any, *, only_new: bool = False) -> dict[str, Upserted]:
    """The "discount_codes" of a catalog file: upsert by code, in capitals as shoppers'
    codes are matched. Every entry is checked before the first write; a bad one raises
    InvalidInput naming it (a percentage over 100, a value on free shipping, an end
    before the start, an unknown category or product slug, a limit under 1). An entry
    is the whole code: what it leaves out (limits, dates, categories) is cleared. Uses
    already made count against the new limits; whether a code is active stays staff's
    choice (a re-import never revives a code staff switched off).

    only_new (the demo seed): create only the codes the shop lacks.

    Returns the count of "discount codes". Rows are written in code order: updating one
    locks it, as a checkout reserving a use does (before any stock row, shop/locks.py).
    """
    codes = _parse_codes(entries)
    existing = {row.code: row for row in DiscountCode.objects.filter(code__in=[entry.code for entry in codes])}
    counts = Upserted()
    for entry in sorted(codes, key=lambda entry: entry.code):
        row = existing.get(entry.code)
        if row is not None and only_new:
            counts.kept += 1
            continue
        fields = {
            "kind": entry.kind,
            "value": entry.value,
            "min_subtotal_usd": entry.min_subtotal_usd,
            "starts_at": entry.starts_at,
            "ends_at": entry.ends_at,
            "usage_limit": entry.usage_limit,
            "per_customer_limit": entry.per_customer_limit,
        }
        if row is None:
            row = DiscountCode.objects.create(code=entry.code, **fields)
            counts.created += 1
        else:
            DiscountCode.objects.filter(pk=row.pk).update(**fields)
            counts.updated += 1
        row.categories.set(entry.categories)
        row.products.set(entry.products)
    return {"discount codes": counts}
