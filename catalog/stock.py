"""Stock as the catalog's pages and API show it: how many of a variant can be bought
now, and whether that is plenty, little or none.

Stock belongs to the inventory app, the layer above the catalog (it keeps stock *of*
variants), so the catalog imports nothing of it. Instead the catalog defines what it
needs here and inventory provides it when Django starts (inventory.apps), as a lower
layer learns of a higher one through a hook it defines.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from django.db.models import QuerySet

Availability = Literal["in_stock", "low_stock", "out_of_stock"]


class StockView(Protocol):
    def annotate_availability(self, variants: QuerySet, *, now: datetime | None = None) -> QuerySet:
        """Variants with `available` (on hand minus live reservations, never below 0),
        `on_hand_now`, `reserved_now` and `low_stock_threshold_now`, in the same query."""

    def stock_status(self, available: int, threshold: int) -> Availability:
        """What `available` units mean against the variant's low-stock threshold."""


_provider: StockView | None = None


def provide(provider: StockView) -> None:
    """Called by the app that keeps stock (inventory) when Django starts."""
    global _provider
    _provider = provider


def is_provided() -> bool:
    return _provider is not None


def _stock() -> StockView:
    if _provider is None:
        raise RuntimeError("No app provides stock figures to the catalog: is 'inventory' in INSTALLED_APPS?")
    return _provider


def annotate_availability(variants: QuerySet, *, now: datetime | None = None) -> QuerySet:
    return _stock().annotate_availability(variants, now=now)


def stock_status(available: int, threshold: int) -> Availability:
    return _stock().stock_status(available, threshold)
