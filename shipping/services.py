"""Writing where the shop ships (staff in admin, the catalog file import)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.text import slugify

from catalog.services import (
    MAX_WEIGHT_GRAMS,
    Upserted,
    country_field,
    decimal_field,
    fail,
    known_keys,
    no_nul,
    text_field,
    whole_number,
)
from shipping.models import ShippingMethod, ShippingZone, WeightStep

REST_OF_WORLD = "*"  # a zone's "countries" in a catalog file: every country no other zone names
MAX_DAYS = 365
MAX_ZONE_NAME_LENGTH = ShippingZone._meta.get_field("name").max_length
MAX_METHOD_CODE_LENGTH = ShippingMethod._meta.get_field("code").max_length
MAX_METHOD_NAME_LENGTH = ShippingMethod._meta.get_field("name").max_length
ZONE_KEYS = {"name", "countries", "methods"}
METHOD_KEYS = {"code", "name", "price_usd", "free_over_usd", "min_days", "max_days", "weight_steps"}
STEP_KEYS = {"up_to_grams", "price_usd"}


def _overlap_sentence(countries: Iterable[str], zones: Iterable[ShippingZone]) -> str | None:
    taken = []
    for zone in zones:
        both = sorted(set(countries) & {country.code for country in zone.countries})
        taken += [f"{code} (in {zone.name})" for code in both]
    return f"Already in another zone: {', '.join(taken)}." if taken else None


def zone_overlap_error(countries: list[str], *, exclude_pk: int | None = None) -> str | None:
    """A country may belong to one zone only: the sentence saying which are taken."""
    return _overlap_sentence(countries, ShippingZone.objects.exclude(pk=exclude_pk))


# --- the catalog file's "shipping_zones" -------------------------------------------------


@dataclass(frozen=True)
class StepEntry:
    up_to_grams: int
    price_usd: Decimal


@dataclass(frozen=True)
class MethodEntry:
    code: str
    name: str
    price_usd: Decimal
    free_over_usd: Decimal | None
    min_days: int
    max_days: int
    weight_steps: tuple[StepEntry, ...] | None  # None: the file leaves the steps as they are


@dataclass(frozen=True)
class ZoneEntry:
    name: str
    countries: tuple[str, ...]
    rest_of_world: bool
    methods: tuple[MethodEntry, ...]
    position: int
    where: str  # "shipping_zones[1] (Europe)", for errors


def _weight_steps(value: Any, where: str) -> tuple[StepEntry, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        fail(where, 'must be a list of {"up_to_grams", "price_usd"}')
    steps: dict[int, StepEntry] = {}
    for k, entry in enumerate(value):
        swhere = f"{where}[{k}]"
        if not isinstance(entry, dict):
            fail(swhere, "must be an object")
        known_keys(entry, swhere, STEP_KEYS)
        grams = whole_number(entry.get("up_to_grams"), f"{swhere}.up_to_grams", minimum=1, maximum=MAX_WEIGHT_GRAMS)
        if grams in steps:
            fail(f"{swhere}.up_to_grams", f"{grams} appears twice in this method's steps")
        steps[grams] = StepEntry(grams, decimal_field(entry.get("price_usd"), f"{swhere}.price_usd"))
    return tuple(sorted(steps.values(), key=lambda step: step.up_to_grams))


def _method(entry: Any, where: str, seen_codes: set[str]) -> MethodEntry:
    if not isinstance(entry, dict):
        fail(where, "must be an object")
    code = entry.get("code")
    if not isinstance(code, str) or not code or slugify(code) != code or len(code) > MAX_METHOD_CODE_LENGTH:
        fail(f"{where}.code", f"must be a lowercase code like 'express' of at most {MAX_METHOD_CODE_LENGTH} characters")
    if code in seen_codes:
        fail(f"{where}.code", f"{code!r} appears twice in this zone")
    seen_codes.add(code)
    where = f"{where} ({code})"
    known_keys(entry, where, METHOD_KEYS)
    name = text_field(entry.get("name"), f"{where}.name", max_length=MAX_METHOD_NAME_LENGTH)
    price = decimal_field(entry.get("price_usd"), f"{where}.price_usd")
    free_over = entry.get("free_over_usd")
    if free_over is not None:
        free_over = decimal_field(free_over, f"{where}.free_over_usd")
    min_days = whole_number(entry.get("min_days"), f"{where}.min_days", maximum=MAX_DAYS)
    max_days = whole_number(entry.get("max_days"), f"{where}.max_days", maximum=MAX_DAYS)
    if min_days > max_days:
        fail(f"{where}.max_days", f"must be at least min_days ({min_days})")
    return MethodEntry(
        code=code,
        name=name,
        price_usd=price,
        free_over_usd=free_over,
        min_days=min_days,
        max_days=max_days,
        weight_steps=_weight_steps(entry.get("weight_steps"), f"{where}.weight_steps"),
    )


def _zone(entry: Any, index: int, seen_names: set[str]) -> ZoneEntry:
    where = f"shipping_zones[{index}]"
    if not isinstance(entry, dict):
        fail(where, "must be an object")
    name = text_field(entry.get("name"), f"{where}.name", max_length=MAX_ZONE_NAME_LENGTH)
    if name in seen_names:
        fail(f"{where}.name", f"{name!r} appears twice in the file")
    seen_names.add(name)
    where = f"{where} ({name})"
    known_keys(entry, where, ZONE_KEYS)
    countries = entry.get("countries")
    if countries == REST_OF_WORLD:
        codes: tuple[str, ...] = ()
    elif isinstance(countries, list) and countries:
        codes = tuple(country_field(code, f"{where}.countries[{k}]") for k, code in enumerate(countries))
        twice = next((code for k, code in enumerate(codes) if code in codes[:k]), None)
        if twice:
            fail(f"{where}.countries", f"{twice} appears twice")
    else:
        fail(f"{where}.countries", 'must be a non-empty list of country codes like ["DE", "FR"], or "*" for the rest of the world')
    methods = entry.get("methods")
    if not isinstance(methods, list) or not methods:
        fail(f"{where}.methods", "must be a non-empty list")
    seen_codes: set[str] = set()
    return ZoneEntry(
        name=name,
        countries=codes,
        rest_of_world=countries == REST_OF_WORLD,
        methods=tuple(_method(method, f"{where}.methods[{j}]", seen_codes) for j, method in enumerate(methods)),
        position=index,
        where=where,
    )


def _parse_zones(entries: Any) -> list[ZoneEntry]:
    """The section's own rules: each entry well formed, and no country (nor the rest of
    the world) in two of its zones."""
    if not isinstance(entries, list):
        fail("shipping_zones", "must be a list")
    no_nul(entries, "shipping_zones")
    seen_names: set[str] = set()
    zones = [_zone(entry, i, seen_names) for i, entry in enumerate(entries)]
    holder: dict[str, ZoneEntry] = {}
    for zone in zones:
        key_of = [REST_OF_WORLD] if zone.rest_of_world else list(zone.countries)
        for key in key_of:
            if key in holder:
                first = holder[key].where
                if key == REST_OF_WORLD:
                    fail(f"{zone.where}.countries", f'"*" (the rest of the world) is already {first}: a shop has one rest-of-world zone')
                fail(f"{zone.where}.countries", f"{key} is also in {first}: a country belongs to one zone")
            holder[key] = zone
    return zones


def _clash_with_shop(zone: ZoneEntry, fixed: list[ShippingZone]) -> str | None:
    """Why `zone` cannot sit beside the zones the import leaves as they are, if it cannot."""
    if zone.rest_of_world:
        other = next((z for z in fixed if z.rest_of_world), None)
        if other is not None:
            return f'"*": the zone {other.name!r} is already the rest of the world, and a shop has one'
        return None
    overlap = _overlap_sentence(zone.countries, fixed)
    return f"{overlap} Take them out of that zone first, or list it in this file too." if overlap else None


def _write_steps(method: ShippingMethod, steps: tuple[StepEntry, ...]) -> None:
    WeightStep.objects.filter(method=method).delete()
    WeightStep.objects.bulk_create(WeightStep(method=method, up_to_grams=s.up_to_grams, price_usd=s.price_usd) for s in steps)


def _import_methods(zone: ShippingZone, entries: tuple[MethodEntry, ...], *, only_new: bool, counts: Upserted) -> None:
    existing = {method.code: method for method in zone.methods.all()}
    for position, entry in enumerate(entries):
        method = existing.get(entry.code)
        if method is not None and only_new:
            counts.kept += 1
            continue
        fields = {
            "name": entry.name,
            "price_usd": entry.price_usd,
            "free_over_usd": entry.free_over_usd,
            "min_days": entry.min_days,
            "max_days": entry.max_days,
            "position": position,
        }
        if method is None:
            method = ShippingMethod.objects.create(zone=zone, code=entry.code, **fields)
            counts.created += 1
        else:
            ShippingMethod.objects.filter(pk=method.pk).update(**fields)
            counts.updated += 1
        if entry.weight_steps is not None:
            _write_steps(method, entry.weight_steps)


def import_zones(entries: Any, *, only_new: bool = False) -> dict[str, Upserted]:
    """The "shipping_zones" of a catalog file: upsert zones by name and their methods by
    zone and code; a method's "weight_steps", when given, replace its steps. Everything is
    checked before the first write, and a bad entry raises InvalidInput naming it: a
    country unknown or in two zones (counting the shop's zones the file does not list),
    a second rest-of-world zone, a price, a delivery window. An entry is the whole row:
    what it leaves out (free_over_usd) is cleared. Methods the file does not list stay,
    and whether a method is active stays staff's choice (carts name methods by code).

    only_new (the demo seed): create only the zones and methods the shop lacks; a new
    zone whose countries the shop already serves otherwise is left out, not an error, so
    staff rearranging zones never stops the seed.

    Returns the counts of "shipping zones" and "shipping methods". Locks nothing: no
    checkout locks zone or method rows.
    """
    zones = _parse_zones(entries)
    existing = {zone.name: zone for zone in ShippingZone.objects.all()}
    listed = {zone.name for zone in zones}
    # The shop's zones this import leaves as they are.
    fixed = [zone for zone in existing.values() if zone.name not in listed or only_new]
    left_out: set[str] = set()
    for zone in zones:
        if zone.name in existing and only_new:
            continue
        clash = _clash_with_shop(zone, fixed)
        if clash and only_new:
            left_out.add(zone.name)
        elif clash:
            fail(f"{zone.where}.countries", clash)

    zone_counts, method_counts = Upserted(), Upserted()
    # A zone stops being the rest of the world before another becomes it: the database
    # allows one at any moment.
    for entry in sorted(zones, key=lambda zone: zone.rest_of_world):
        zone = existing.get(entry.name)
        fields = {"countries": list(entry.countries), "rest_of_world": entry.rest_of_world, "position": entry.position}
        if entry.name in left_out or (zone is not None and only_new):
            zone_counts.kept += 1
            if zone is None:
                continue
        elif zone is None:
            zone = ShippingZone.objects.create(name=entry.name, **fields)
            zone_counts.created += 1
        else:
            for name, value in fields.items():
                setattr(zone, name, value)
            zone.save(update_fields=list(fields))
            zone_counts.updated += 1
        _import_methods(zone, entry.methods, only_new=only_new, counts=method_counts)
    return {"shipping zones": zone_counts, "shipping methods": method_counts}
