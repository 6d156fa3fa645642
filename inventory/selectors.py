"""Stock reads. Availability ignores expired reservations whether or not the sweeper has
run (invariant 2), so these never need a lock."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from catalog.stock import Availability
from inventory.models import Reservation, Stock, StockMovement


def _live_reserved_subquery(now: datetime, variant_ref: str, excluding_holder_id: UUID | None = None) -> Subquery:
    live = Reservation.objects.filter(variant_id=OuterRef(variant_ref), status=Reservation.Status.ACTIVE, expires_at__gt=now)
    if excluding_holder_id is not None:
        live = live.exclude(holder_id=excluding_holder_id)
    return Subquery(
        live.order_by()
        .values("variant_id")
        .annotate(total=Sum("quantity"))
        .values("total"),
        output_field=IntegerField(),
    )


def annotate_availability(variants: QuerySet, *, now: datetime | None = None) -> QuerySet:
    """Variants with `available` (on hand minus live reservations, never below 0),
    `on_hand_now`, `reserved_now` and `low_stock_threshold_now`, in the same query (the
    stock row is joined, live reservations are a subquery)."""
    now = now or timezone.now()
    return variants.annotate(
        on_hand_now=Coalesce(F("stock__on_hand"), Value(0)),
        reserved_now=Coalesce(F("stock__reserved"), Value(0)),
        low_stock_threshold_now=Coalesce(F("stock__low_stock_threshold"), Value(0)),
        available=Greatest(
            Coalesce(F("stock__on_hand"), Value(0)) - Coalesce(_live_reserved_subquery(now, "pk"), Value(0)), Value(0)
        ),
    )


def available_quantities(variant_ids: Iterable[int], *, now: datetime | None = None) -> dict[int, int]:
    return {vid: available for vid, (available, _status) in availability_of(variant_ids, now=now).items()}


def stock_status(available: int, threshold: int) -> Availability:
    if available <= 0:
        return "out_of_stock"
    if available <= threshold:
        return "low_stock"
    return "in_stock"


def availability_of(
    variant_ids: Iterable[int], *, now: datetime | None = None, excluding_holder_id: UUID | None = None
) -> dict[int, tuple[int, Availability]]:
    """variant id -> (available, status). With excluding_holder_id: what that holder (a
    cart) can have, its own live reservations counted as available to it."""
    now = now or timezone.now()
    ids = list(set(variant_ids))
    rows = (
        Stock.objects.filter(variant_id__in=ids)
        .annotate(live=Coalesce(_live_reserved_subquery(now, "variant_id", excluding_holder_id), Value(0)))
        .values_list("variant_id", "on_hand", "live", "low_stock_threshold")
    )
    result: dict[int, tuple[int, Availability]] = {vid: (0, "out_of_stock") for vid in ids}
    for variant_id, on_hand, live, threshold in rows:
        available = max(on_hand - live, 0)
        result[variant_id] = (available, stock_status(available, threshold))
    return result


def ledger_balance(variant_id: int) -> int:
    return StockMovement.objects.filter(variant_id=variant_id).aggregate(total=Coalesce(Sum("delta"), 0))["total"]


def filter_by_stock_status(variants: QuerySet, status: Availability) -> QuerySet:
    """Variants from annotate_availability narrowed to one status: stock_status in SQL."""
    if status == "out_of_stock":
        return variants.filter(available__lte=0)
    if status == "low_stock":
        return variants.filter(available__gt=0, available__lte=F("low_stock_threshold_now"))
    return variants.filter(available__gt=F("low_stock_threshold_now"))
