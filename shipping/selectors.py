"""Reading where the shop ships: the zone of a country and its methods priced for a
parcel's weight, in USD. The cart converts and applies free-shipping thresholds
(cart.pricing); nothing here knows of carts.

Within one web request the zones and each zone's active methods are read once (checking
an address, offering its methods and pricing the chosen one ask again and again) and
kept for the rest of that request only: the next request reads them afresh, so an edit
by staff shows at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch
from django_countries import countries

from shipping.models import ShippingMethod, ShippingZone, WeightStep
from shop.request_memo import remembered


@dataclass(frozen=True)
class MethodQuote:
    """A method as offered to one parcel: its USD price for that weight."""

    code: str
    name: str
    zone: str
    price_usd: Decimal
    free_over_usd: Decimal | None
    min_days: int
    max_days: int


def _zones() -> list[ShippingZone]:
    return remembered(("shipping", "zones"), lambda: list(ShippingZone.objects.all()))


def zone_for(country: str | None) -> ShippingZone | None:
    """The zone that names `country`, else the rest-of-world zone, else None."""
    if not country:
        return None
    rest = None
    for zone in _zones():
        if country in zone.countries:
            return zone
        if zone.rest_of_world:
            rest = zone
    return rest


def ships_to(country: str | None) -> bool:
    return zone_for(country) is not None


def not_shipped_sentence(country: str) -> str:
    return f"Sorry, we do not ship to {countries.name(country) or country}."


def _price_for_weight(method: ShippingMethod, weight_grams: int) -> Decimal | None:
    steps = list(method.weight_steps.all())
    if not steps:
        return method.price_usd
    for step in steps:  # ordered by up_to_grams
        if weight_grams <= step.up_to_grams:
            return step.price_usd
    return None  # heavier than every step: this method cannot take the parcel


def _quote(method: ShippingMethod, zone: ShippingZone, weight_grams: int) -> MethodQuote | None:
    price = _price_for_weight(method, weight_grams)
    if price is None:
        return None
    return MethodQuote(method.code, method.name, zone.name, price, method.free_over_usd, method.min_days, method.max_days)


def _active_methods(zone: ShippingZone) -> list[ShippingMethod]:
    return remembered(
        ("shipping", "methods", zone.pk),
        lambda: list(
            zone.methods.filter(is_active=True).prefetch_related(
                Prefetch("weight_steps", queryset=WeightStep.objects.order_by("up_to_grams"))
            )
        ),
    )


def methods_for(country: str | None, weight_grams: int) -> list[MethodQuote]:
    """The active methods of the country's zone that can take a parcel of this weight."""
    zone = zone_for(country)
    if zone is None:
        return []
    quotes = (_quote(method, zone, weight_grams) for method in _active_methods(zone))
    return [quote for quote in quotes if quote is not None]


def method_for(country: str | None, code: str, weight_grams: int) -> MethodQuote | None:
    """The method `code` of the country's zone for this weight, if it offers it."""
    return next((quote for quote in methods_for(country, weight_grams) if quote.code == code), None)


def shippable_countries() -> list[tuple[str, str]]:
    """(code, name) of every country the shop ships to, by name: all real countries when
    there is a rest-of-world zone."""
    zones = _zones()
    if any(zone.rest_of_world for zone in zones):
        return [(country.code, country.name) for country in countries]
    codes = {country.code for zone in zones for country in zone.countries}
    return [(country.code, country.name) for country in countries if country.code in codes]


def method_name(country: str | None, code: str) -> str:
    """The name shoppers read for the method `code` of the country's zone (the code
    itself if the zone no longer has it)."""
    zone = zone_for(country)
    method = zone.methods.filter(code=code).first() if zone and code else None
    return method.name if method else code
