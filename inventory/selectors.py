"""Stock reads. Availability ignores expired reservations whether or not the sweeper has
run (invariant 2), so these never need a lock."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import connection
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


@dataclass(frozen=True)
class StockFigures:
    """A stock row's figures next to what its ledger and its reservations say they must
    be (invariants 1 and 3)."""

    variant_id: int
    sku: str
    on_hand: int
    ledger_on_hand: int  # the sum of the variant's StockMovement deltas
    reserved: int
    active_reserved: int  # the sum of its reservations with status "active"

    @property
    def on_hand_drifts(self) -> bool:
        return self.on_hand != self.ledger_on_hand

    @property
    def reserved_drifts(self) -> bool:
        return self.reserved != self.active_reserved

    @property
    def out_of_bounds(self) -> bool:
        """A negative figure, or more reserved than on hand (the row's check constraints,
        tested again in case one was dropped or a row was loaded around them)."""
        return self.on_hand < 0 or self.reserved < 0 or self.reserved > self.on_hand


# One statement, so every figure comes from the same snapshot: a sale, reservation or
# adjustment writes its stock row with its movements and reservations in one transaction,
# so a consistent shop never shows drift here, however busy it is. The two sums are
# grouped once over their tables (no per-variant queries). The first column is the number
# of stock rows checked; with no drift it comes back alone on one row.
_DRIFT_SQL = """
WITH figures AS (
    SELECT s.variant_id, s.on_hand, s.reserved,
           COALESCE(m.total, 0) AS ledger_on_hand,
           COALESCE(r.total, 0) AS active_reserved
      FROM inventory_stock AS s
      LEFT JOIN (SELECT variant_id, SUM(delta) AS total FROM inventory_stockmovement {scope} GROUP BY variant_id) AS m
             ON m.variant_id = s.variant_id
      LEFT JOIN (SELECT variant_id, SUM(quantity) AS total FROM inventory_reservation
                  WHERE status = 'active' {and_scope} GROUP BY variant_id) AS r
             ON r.variant_id = s.variant_id
      {scope_s}
)
SELECT c.checked, d.variant_id, d.sku, d.on_hand, d.ledger_on_hand, d.reserved, d.active_reserved
  FROM (SELECT COUNT(*) AS checked FROM figures) AS c
  LEFT JOIN (
        SELECT f.*, v.sku
          FROM figures AS f
          JOIN catalog_variant AS v ON v.id = f.variant_id
         WHERE f.on_hand <> f.ledger_on_hand OR f.reserved <> f.active_reserved
            OR f.on_hand < 0 OR f.reserved < 0 OR f.reserved > f.on_hand
  ) AS d ON TRUE
 ORDER BY d.variant_id
"""


def stock_drift(variant_ids: Iterable[int] | None = None) -> tuple[int, list[StockFigures]]:
    """Check every stock row (or only these variants'): on_hand against the sum of its
    ledger, reserved against the sum of its active reservations, and nothing negative.
    Returns (stock rows checked, the rows that drift, by variant id). No locks."""
    if variant_ids is None:
        sql, params = _DRIFT_SQL.format(scope="", and_scope="", scope_s=""), {}
    else:
        sql = _DRIFT_SQL.format(
            scope="WHERE variant_id = ANY(%(ids)s)", and_scope="AND variant_id = ANY(%(ids)s)", scope_s="WHERE s.variant_id = ANY(%(ids)s)"
        )
        params = {"ids": sorted(set(variant_ids))}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    checked = rows[0][0] if rows else 0
    return checked, [StockFigures(*row[1:]) for row in rows if row[1] is not None]
