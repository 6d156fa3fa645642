"""Shipping methods for tests: by default the methods of a rest-of-world zone, so any
valid country is shipped to, as before zones existed."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from shipping.models import ShippingMethod, ShippingZone


def rest_of_world() -> ShippingZone:
    zone, _ = ShippingZone.objects.get_or_create(name="Rest of world", defaults={"rest_of_world": True, "position": 100})
    return zone


def make_zone(name: str, countries: list[str], *, position: int = 0) -> ShippingZone:
    return ShippingZone.objects.create(name=name, countries=countries, position=position)


def make_method(
    *,
    code: str,
    name: str,
    price: Any,
    zone: ShippingZone | None = None,
    free_over: Any = None,
    min_days: int = 2,
    max_days: int = 5,
    position: int = 0,
    is_active: bool = True,
) -> ShippingMethod:
    """A method priced in USD (`price` as Money, Decimal or text)."""

    def usd(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(getattr(value, "amount", value)))

    return ShippingMethod.objects.create(
        zone=zone or rest_of_world(),
        code=code,
        name=name,
        price_usd=usd(price),
        free_over_usd=usd(free_over),
        min_days=min_days,
        max_days=max_days,
        position=position,
        is_active=is_active,
    )
