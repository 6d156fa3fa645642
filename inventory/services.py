"""Stock writes: reserve, extend, release, commit, adjust, sweep; and the drift check
(check_stock), whose repair only recomputes `reserved` from the reservations.

Every function that changes a stock row first locks it (inventory.locks), then releases
the expired reservations of that row under the lock (docs/architecture.md, invariant 2), then checks
and writes. The checkout's writers (reserve, extend, release, the sweeper) do all of that
in the one statement that takes the locks (the SQL functions of migration 0004), so a
hot SKU's row is locked for one statement and its COMMIT. `reserved` always equals the sum of the row's active reservations and the
database refuses `reserved > on_hand` or `on_hand < 0` (invariant 1). Every change of
on_hand writes one StockMovement (invariant 3).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Variant
from inventory.locks import LockedWork, lock_reserved_stocks, lock_stocks
from inventory.models import Reservation, Stock, StockMovement
from inventory.selectors import StockFigures, stock_drift
from shop import metrics
from shop.alerts import AlertKind, alert_staff
from shop.errors import InsufficientStock, ReservationExpired, StockAdjustmentRefused

log = logging.getLogger(__name__)

_RELEASE_SQL = """
WITH closed AS (
    UPDATE inventory_reservation
       SET status = CASE WHEN expires_at <= %(now)s THEN 'expired' ELSE 'released' END,
           closed_at = %(now)s
     WHERE variant_id = ANY(%(variant_ids)s)
       AND status = 'active'
       AND (expires_at <= %(now)s OR holder_id = %(holder_id)s)
 RETURNING variant_id, quantity
)
UPDATE inventory_stock AS s
   SET reserved = s.reserved - c.quantity
  FROM (SELECT variant_id, SUM(quantity) AS quantity FROM closed GROUP BY variant_id) AS c
 WHERE s.variant_id = c.variant_id
RETURNING s.variant_id, s.reserved
"""

_ADD_RESERVED_SQL = """
UPDATE inventory_stock AS s
   SET reserved = s.reserved + d.delta, updated_at = %(now)s
  FROM unnest(%(variant_ids)s::bigint[], %(deltas)s::integer[]) AS d(variant_id, delta)
 WHERE s.variant_id = d.variant_id
"""


@dataclass(frozen=True)
class Shortage:
    variant_id: int
    requested: int
    available: int


def _release_locked(stocks: dict[int, Stock], *, now: datetime, holder_id: UUID | None = None) -> int:
    """Close the expired reservations of these locked rows (and, if holder_id is given, that
    holder's live ones). Returns how many units were freed."""
    if not stocks:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE_SQL, {"now": now, "variant_ids": list(stocks), "holder_id": holder_id})
        rows = cursor.fetchall()
    freed = 0
    for variant_id, reserved in rows:
        freed += stocks[variant_id].reserved - reserved
        stocks[variant_id].reserved = reserved
    return freed


def _add_reserved(deltas: Mapping[int, int], *, now: datetime) -> None:
    if not deltas:
        return
    with connection.cursor() as cursor:
        cursor.execute(_ADD_RESERVED_SQL, {"now": now, "variant_ids": list(deltas), "deltas": list(deltas.values())})


def _shortages(stocks: dict[int, Stock], items: Mapping[int, int]) -> list[Shortage]:
    return [
        Shortage(variant_id, quantity, max(stocks[variant_id].on_hand - stocks[variant_id].reserved, 0))
        for variant_id, quantity in sorted(items.items())
        if stocks[variant_id].on_hand - stocks[variant_id].reserved < quantity
    ]


def insufficient_stock_error(shortages: list[Shortage]) -> InsufficientStock:
    metrics.OUT_OF_STOCK_REFUSALS.labels(stage="reserve").inc()
    variants = Variant.objects.select_related("product").in_bulk([s.variant_id for s in shortages])
    return InsufficientStock.of((variants[s.variant_id], s.requested, s.available) for s in shortages)


def reserve(
    *,
    holder_id: UUID,
    items: Mapping[int, int],
    expires_at: datetime,
    now: datetime | None = None,
    ends_transaction: bool = False,
) -> list[Reservation]:
    """Reserve every item (variant id -> quantity) for the holder (a cart's id), all or none.

    The caller holds the holder's own lock (the cart row). Any live reservation the holder already has on
    these variants is replaced. Raises InsufficientStock naming every short item.

    One statement (inventory_reserve, migrations 0004 and 0005) locks the rows, releases
    their expired reservations, checks availability, moves `reserved` and writes the
    reservations; the caller sends nothing else before its COMMIT (lock order:
    shop/locks.py). A refused reserve has undone its work and let go of the rows before
    it returns, so naming the short items (a catalog read) holds no stock lock.

    `ends_transaction`: the caller's transaction ends with this call. In the outermost
    transaction its COMMIT then goes in the statement's round trip (inventory.locks.
    run_locked): it has committed when this returns, or, refused, rolled back.
    """
    now = now or timezone.now()
    items = {int(vid): int(q) for vid, q in sorted(items.items()) if q > 0}
    if not items:
        return []
    work = LockedWork(
        "inventory_reserve(%(variant_ids)s::bigint[], %(quantities)s::integer[], %(holder_id)s::uuid, "
        "%(expires_at)s::timestamptz, %(now)s::timestamptz, %(committing)s)",
        {"quantities": list(items.values()), "holder_id": holder_id, "expires_at": expires_at, "now": now},
        ends_transaction=ends_transaction,
    )
    # No savepoint of its own: it would cost a round trip while the rows are locked. A
    # caller that carries on after InsufficientStock wraps the call in atomic() itself.
    with transaction.atomic(savepoint=False):
        rows = lock_stocks(items, then=work)
        shortages = [Shortage(vid, requested, available) for pk, vid, requested, available in rows if pk is None]
        if shortages:
            raise insufficient_stock_error(shortages)
        # Counted once the hold is committed (no SQL: the stock rows stay locked to the commit).
        transaction.on_commit(partial(metrics.RESERVATION_UNITS.labels(event="created").inc, sum(items.values())))
        return [
            Reservation(id=pk, holder_id=holder_id, variant_id=vid, quantity=q, expires_at=expires_at, created_at=now)
            for pk, vid, q, _available in rows
        ]


def release(*, holder_id: UUID, now: datetime | None = None, ends_transaction: bool = False) -> int:
    """Release the holder's live reservations (and the expired ones of the same rows).
    Returns the units released. One statement (inventory_release): the caller sends
    nothing else before its COMMIT. `ends_transaction`: as for reserve, the COMMIT goes
    with the statement in the outermost transaction."""
    now = now or timezone.now()
    work = LockedWork(
        "inventory_release(%(variant_ids)s::bigint[], %(holder_id)s::uuid, %(now)s::timestamptz)",
        {"holder_id": holder_id, "now": now},
        ends_transaction=ends_transaction,
    )
    with transaction.atomic(savepoint=False):
        ((freed,),) = lock_reserved_stocks(holder_id, then=work)
    if freed:
        transaction.on_commit(partial(metrics.RESERVATION_UNITS.labels(event="released").inc, freed))
    return freed


def extend(*, holder_id: UUID, expires_at: datetime, now: datetime | None = None) -> int:
    """Move the expiry of the holder's reservations to `expires_at` (never earlier), all
    or none.

    If any of them has run out (its units may be someone else's by now) none is
    extended and ReservationExpired says to reserve again: a reservation past its time
    is never revived, as it no longer blocks others.

    Takes the stock locks of the holder's reserved rows, like every writer of
    reservations (shop/locks.py: cart -> stock -> reservations): updating the reservation
    rows without them deadlocked against a release or sweep of the same rows, which
    holds the stock locks and closes reservations one row at a time in its own order.
    The rows are read first without a lock (a reservation already run out needs none);
    then one statement (inventory_extend) locks them, checks again that every one is
    still live (it may have been released while we waited: `now`, if not given, is read
    after the lock wait) and moves them. The caller sends nothing else before its COMMIT.
    """
    held = list(
        Reservation.objects.filter(holder_id=holder_id, status=Reservation.Status.ACTIVE).values_list("variant_id", "expires_at")
    )
    if not held or min(expiry for _vid, expiry in held) <= (now or timezone.now()):
        raise ReservationExpired()
    work = LockedWork(
        "inventory_extend(%(variant_ids)s::bigint[], %(holder_id)s::uuid, %(expires_at)s::timestamptz, %(now)s::timestamptz)",
        {"holder_id": holder_id, "expires_at": expires_at, "now": now},
    )
    # Raised after the block: refused, it changed nothing, so the caller's transaction
    # carries on (start_checkout then reserves again) without a savepoint's round trips.
    with transaction.atomic(savepoint=False):
        ((moved,),) = lock_stocks([vid for vid, _expiry in held], then=work)
    if moved < 0:
        raise ReservationExpired()
    transaction.on_commit(metrics.RESERVATION_EXTENSIONS.inc)
    return moved


def commit(*, holder_id: UUID, items: Mapping[int, int], order_id: int | None, now: datetime | None = None) -> list[StockMovement]:
    """Turn the holder's reservations into sales: on_hand drops by every item's quantity.

    A reservation that is still active is committed even if past its time: no one else
    has taken its units, because anyone touching the row would have released it first.
    Items with no live reservation (it expired and was released) are re-reserved from
    what is free now; if that is short, InsufficientStock and nothing changes
    (the checkout handles it: invariant 12).
    """
    now = now or timezone.now()
    items = {int(vid): int(q) for vid, q in items.items() if q > 0}
    with transaction.atomic():
        stocks = lock_stocks(items)
        committed: dict[int, int] = {}
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE inventory_reservation SET status = 'committed', closed_at = %(now)s, order_id = %(order_id)s
                 WHERE holder_id = %(holder_id)s AND status = 'active' AND variant_id = ANY(%(variant_ids)s)
             RETURNING variant_id, quantity
                """,
                {"now": now, "order_id": order_id, "holder_id": holder_id, "variant_ids": list(items)},
            )
            for variant_id, quantity in cursor.fetchall():
                committed[variant_id] = committed.get(variant_id, 0) + quantity
        _release_locked(stocks, now=now)  # others' expired reservations free their units
        for variant_id, quantity in committed.items():
            stocks[variant_id].reserved -= quantity
        # What we take must leave every other live reservation covered: on_hand - items
        # >= reserved by others. Fully reserved items always pass this.
        shortages = _shortages(stocks, items)
        if shortages:
            raise insufficient_stock_error(shortages)
        # A reservation larger than the sold quantity frees its remainder.
        deltas = {vid: -q for vid, q in committed.items()}
        _add_reserved(deltas, now=now)
        for variant_id, quantity in items.items():
            stocks[variant_id].on_hand -= quantity
        movements = _write_on_hand(stocks, {vid: -q for vid, q in items.items()}, reason=StockMovement.Reason.SALE, order_id=order_id, now=now)
        transaction.on_commit(partial(metrics.RESERVATION_UNITS.labels(event="committed").inc, sum(items.values())))
    return movements


def attach_order(*, holder_id: UUID, order_id: int, movement_ids: Iterable[int]) -> None:
    """Record which order a committed sale belongs to: its ledger movements and its
    committed reservations. The order is made after the commit (whether stock sufficed
    decides how it is made), inside the same transaction, so this fills the reference in."""
    StockMovement.objects.filter(pk__in=list(movement_ids), order_id__isnull=True).update(order_id=order_id)
    Reservation.objects.filter(
        holder_id=holder_id, status=Reservation.Status.COMMITTED, order_id__isnull=True
    ).update(order_id=order_id)


def return_sold_units(
    *,
    order_id: int,
    reason: str,
    items: Mapping[int, int] | None = None,
    actor_id: int | None = None,
    note: str = "",
    now: datetime | None = None,
) -> list[StockMovement]:
    """Put back on hand what the order's sale took and no earlier cancellation or return
    of it gave back, as the ledger says (an order whose stock was never committed gets
    nothing): all of it, or at most `items` (variant id -> units) of it. One movement per
    variant, with the order's id. Locks the stock rows in variant-id order (lock order:
    shop/locks.py)."""
    now = now or timezone.now()
    taken: dict[int, int] = {}
    for variant_id, delta in StockMovement.objects.filter(order_id=order_id).values_list("variant_id", "delta"):
        taken[variant_id] = taken.get(variant_id, 0) - delta
    left = {vid: q for vid, q in taken.items() if q > 0}
    if items is not None:
        left = {vid: min(q, int(items.get(vid, 0))) for vid, q in left.items() if items.get(vid, 0) > 0}
    if not left:
        return []
    with transaction.atomic():
        stocks = lock_stocks(left)
        _release_locked(stocks, now=now)
        for variant_id, quantity in left.items():
            stocks[variant_id].on_hand += quantity
        return _write_on_hand(stocks, left, reason=reason, order_id=order_id, actor_id=actor_id, note=note, now=now)


def _write_on_hand(
    stocks: dict[int, Stock],
    deltas: Mapping[int, int],
    *,
    reason: str,
    now: datetime,
    order_id: int | None = None,
    actor_id: int | None = None,
    note: str = "",
) -> list[StockMovement]:
    """Apply on_hand deltas to locked rows and write their ledger rows (one statement each).

    `stocks[...].on_hand` is expected to hold the new value already.
    """
    deltas = {vid: d for vid, d in deltas.items() if d}
    if not deltas:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE inventory_stock AS s SET on_hand = s.on_hand + d.delta, updated_at = %(now)s
              FROM unnest(%(variant_ids)s::bigint[], %(deltas)s::integer[]) AS d(variant_id, delta)
             WHERE s.variant_id = d.variant_id
            """,
            {"now": now, "variant_ids": list(deltas), "deltas": list(deltas.values())},
        )
    movements = StockMovement.objects.bulk_create(
        [
            StockMovement(
                variant_id=vid,
                delta=delta,
                reason=reason,
                order_id=order_id,
                actor_id=actor_id,
                note=note,
                balance_after=stocks[vid].on_hand,
            )
            for vid, delta in deltas.items()
        ]
    )
    _check_low_stock([stocks[vid] for vid in deltas], now=now)
    return movements


def adjust(*, variant_id: int, delta: int, reason: str, actor_id: int | None = None, note: str = "", now: datetime | None = None) -> StockMovement:
    """A staff change of on_hand (goods received, damaged, a count correction)."""
    now = now or timezone.now()
    if delta == 0:
        raise StockAdjustmentRefused("An adjustment must change the quantity.", details={"delta": ["Must not be zero."]})
    if reason not in StockMovement.Reason.values or reason in (StockMovement.Reason.SALE, StockMovement.Reason.CANCEL):
        raise StockAdjustmentRefused("Choose a reason for the adjustment.", details={"reason": [f"Unknown reason {reason!r}."]})
    with transaction.atomic():
        stocks = lock_stocks([variant_id])
        stock = stocks[variant_id]
        _release_locked(stocks, now=now)
        new_on_hand = stock.on_hand + delta
        if new_on_hand < 0:
            raise StockAdjustmentRefused(
                f"Only {stock.on_hand} on hand; cannot remove {-delta}.", details={"delta": ["Would make stock negative."]}
            )
        if new_on_hand < stock.reserved:
            raise StockAdjustmentRefused(
                f"{stock.reserved} units are reserved by carts in checkout; on hand cannot go below that.",
                details={"delta": ["Would go below the reserved quantity."]},
            )
        stock.on_hand = new_on_hand
        (movement,) = _write_on_hand(stocks, {variant_id: delta}, reason=reason, actor_id=actor_id, note=note, now=now)
    return movement


def set_on_hand(*, variant_id: int, on_hand: int, reason: str, actor_id: int | None = None, note: str = "", now: datetime | None = None) -> StockMovement | None:
    """Set on_hand to a counted figure through one ledger movement (imports, stock counts)."""
    now = now or timezone.now()
    with transaction.atomic():
        stocks = lock_stocks([variant_id])
        delta = on_hand - stocks[variant_id].on_hand
        if delta == 0:
            return None
        return adjust(variant_id=variant_id, delta=delta, reason=reason, actor_id=actor_id, note=note, now=now)


@dataclass(frozen=True)
class StockLevel:
    """A counted figure for one variant (a catalog import, a stock count)."""

    variant_id: int
    on_hand: int
    low_stock_threshold: int | None = None  # None: leave it as it is


class StockLevelRefused(StockAdjustmentRefused):
    """set_stock_levels refused the figure of `variant_id` (why: `message`)."""

    def __init__(self, variant_id: int, refusal: StockAdjustmentRefused):
        self.variant_id = variant_id
        super().__init__(refusal.message, details=refusal.details)


def set_stock_levels(
    levels: Sequence[StockLevel], *, reason: str, actor_id: int | None = None, note: str = "", now: datetime | None = None
) -> list[StockMovement]:
    """Set several variants' on hand (and thresholds) at once, all or none: every stock
    row is locked first in one statement, in variant-id order (the global lock order), so
    a large import never deadlocks with checkouts; each change of on_hand is one ledger
    movement. StockLevelRefused names the first variant whose figure cannot be set (more
    units reserved by carts in checkout than the figure), and nothing is changed."""
    movements: list[StockMovement] = []
    with transaction.atomic():
        lock_stocks(level.variant_id for level in levels)
        for level in levels:
            if level.low_stock_threshold is not None:
                set_low_stock_threshold(variant_id=level.variant_id, threshold=level.low_stock_threshold)
            try:
                movement = set_on_hand(
                    variant_id=level.variant_id, on_hand=level.on_hand, reason=reason, actor_id=actor_id, note=note, now=now
                )
            except StockAdjustmentRefused as refusal:
                raise StockLevelRefused(level.variant_id, refusal) from None
            if movement is not None:
                movements.append(movement)
    return movements


def set_low_stock_threshold(*, variant_id: int, threshold: int) -> None:
    with transaction.atomic():
        stocks = lock_stocks([variant_id])
        Stock.objects.filter(pk=stocks[variant_id].pk).update(low_stock_threshold=threshold)


def expire_reservations(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """The sweeper: release every reservation past its time. Returns units released.

    Only tidies up: availability already ignores expired reservations (invariant 2).
    Works in batches of stock rows, each under its locks, so it never holds many locks
    for long and two sweeps running at once release each reservation exactly once.
    """
    now = now or timezone.now()
    freed = 0
    after = 0
    while True:
        variant_ids = list(
            Reservation.objects.filter(status=Reservation.Status.ACTIVE, expires_at__lte=now, variant_id__gt=after)
            .order_by("variant_id")
            .values_list("variant_id", flat=True)
            .distinct()[:batch_size]
        )
        if not variant_ids:
            return freed
        work = LockedWork("inventory_release(%(variant_ids)s::bigint[], NULL, %(now)s::timestamptz)", {"now": now})
        with transaction.atomic():
            ((released,),) = lock_stocks(variant_ids, then=work)  # one statement under the locks
        metrics.RESERVATION_UNITS.labels(event="expired").inc(released)
        freed += released
        after = variant_ids[-1]


def _check_low_stock(stocks: list[Stock], *, now: datetime) -> None:
    """Alert staff once when a variant's on_hand falls to its threshold; re-arm on restock."""
    newly_low = [s for s in stocks if s.on_hand <= s.low_stock_threshold and s.low_stock_alerted_at is None]
    restocked = [s for s in stocks if s.on_hand > s.low_stock_threshold and s.low_stock_alerted_at is not None]
    if restocked:
        Stock.objects.filter(pk__in=[s.pk for s in restocked]).update(low_stock_alerted_at=None)
        for s in restocked:
            s.low_stock_alerted_at = None
    if not newly_low:
        return
    Stock.objects.filter(pk__in=[s.pk for s in newly_low]).update(low_stock_alerted_at=now)
    variant_ids = [s.variant_id for s in newly_low]
    levels = {s.variant_id: s.on_hand for s in newly_low}
    for s in newly_low:
        s.low_stock_alerted_at = now
    transaction.on_commit(lambda: _send_low_stock_alert(variant_ids, levels))


def _send_low_stock_alert(variant_ids: list[int], levels: dict[int, int]) -> None:
    variants = Variant.objects.select_related("product").in_bulk(variant_ids)
    lines = [f"{variants[vid].sku} ({variants[vid]}): {levels[vid]} on hand" for vid in variant_ids if vid in variants]
    subject = f"Low stock: {len(lines)} variant(s)"
    body = "These variants reached their low-stock threshold:\n\n" + "\n".join(lines)
    alert_staff(subject, body, kind=AlertKind.LOW_STOCK)


# --- the drift check ------------------------------------------------------------------

# Whether the row or the ledger is wrong takes a count of the shelf, and "Adjust stock"
# moves both together, so it cannot close the gap: the alert says what a person does.
ON_HAND_NEEDS_A_PERSON = (
    "count the units, then bring on hand and the ledger together by hand "
    "(docs/operations.md, \"Stock drift\")"
)


@dataclass(frozen=True)
class ReservedRepair:
    """A stock row whose `reserved` check_stock recomputed from its active reservations."""

    variant_id: int
    sku: str
    reserved_before: int
    reserved_after: int


@dataclass(frozen=True)
class DriftReport:
    """What check_stock found: every drifting stock row and what was repaired."""

    checked: int
    drifts: tuple[StockFigures, ...] = ()
    repaired: tuple[ReservedRepair, ...] = ()

    @property
    def found(self) -> bool:
        return bool(self.drifts)

    @property
    def unresolved(self) -> tuple[StockFigures, ...]:
        """The drifting rows still wrong after the repair (all of them without one)."""
        repaired = {r.variant_id for r in self.repaired}
        return tuple(f for f in self.drifts if _needs_a_person(f) or (f.variant_id not in repaired and _reserved_wrong(f)))

    @property
    def subject(self) -> str:
        return f"Stock drift: {len(self.drifts)} variant(s)" + ("" if self.unresolved else ", repaired")

    def lines(self) -> list[str]:
        """The report as text, for the command's output and the staff alert."""
        if not self.found:
            return [f"Checked {self.checked} stock row(s): no drift."]
        lines = [
            f"Checked {self.checked} stock row(s): {len(self.drifts)} of them drift from their ledger or reservations.",
            "",
        ]
        repairs = {r.variant_id: r for r in self.repaired}
        for f in self.drifts:
            lines.append(
                f"{f.sku} (variant {f.variant_id}): on hand {f.on_hand}, ledger sum {f.ledger_on_hand}; "
                f"reserved {f.reserved}, active reservations {f.active_reserved}."
            )
            if _needs_a_person(f):
                lines.append(f"  on hand NOT repaired, needs a person: {ON_HAND_NEEDS_A_PERSON}.")
            if f.variant_id in repairs:
                r = repairs[f.variant_id]
                lines.append(f"  reserved repaired: {r.reserved_before} -> {r.reserved_after}.")
            elif _reserved_wrong(f):
                if f.active_reserved > f.on_hand or f.active_reserved < 0:
                    lines.append(
                        f"  reserved cannot be repaired: its active reservations ({f.active_reserved}) do not fit in "
                        f"on hand ({f.on_hand}); needs a person."
                    )
                else:
                    lines.append("  reserved not repaired: run `python manage.py check_stock --repair`.")
        return lines


def _needs_a_person(figures: StockFigures) -> bool:
    return figures.on_hand_drifts or figures.on_hand < 0


def _reserved_wrong(figures: StockFigures) -> bool:
    return figures.reserved_drifts or figures.reserved < 0 or figures.reserved > figures.on_hand


def check_stock(*, repair: bool = False, now: datetime | None = None) -> DriftReport:
    """Check every stock row against its ledger and reservations (invariants 1 and 3) and
    alert staff once (kind stock_drift) naming each drifting variant.

    With repair=True, `reserved` of the drifting rows is recomputed from their active
    reservations under their stock locks. on_hand is never repaired: whether the row or
    the ledger is wrong takes a count of the shelf, so it is reported as needing a person.
    The check itself is one read without locks (inventory.selectors.stock_drift).
    """
    checked, drifts = stock_drift()
    repaired: list[ReservedRepair] = []
    if repair:
        to_repair = [f.variant_id for f in drifts if _reserved_wrong(f)]
        if to_repair:
            repaired = _repair_reserved(to_repair, now=now or timezone.now())
    report = DriftReport(checked=checked, drifts=tuple(drifts), repaired=tuple(repaired))
    if report.found:
        log.error("stock drift in %d variant(s), %d repaired", len(report.drifts), len(report.repaired))
        transaction.on_commit(partial(alert_staff, report.subject, "\n".join(report.lines()), kind=AlertKind.STOCK_DRIFT))
    return report


_SET_RESERVED_SQL = """
UPDATE inventory_stock AS s
   SET reserved = d.reserved, updated_at = %(now)s
  FROM unnest(%(variant_ids)s::bigint[], %(reserved)s::integer[]) AS d(variant_id, reserved)
 WHERE s.variant_id = d.variant_id
"""


def _repair_reserved(variant_ids: list[int], *, now: datetime) -> list[ReservedRepair]:
    """Set `reserved` of these rows to the sum of their active reservations. Takes their
    stock locks in one statement, in variant-id order (lock order: shop/locks.py), and no
    other lock; every writer of reservations holds those locks, so the sums cannot move
    while we write. Expired reservations still active count, as `reserved` counts them
    until the sweeper (or the next writer of the row) releases them."""
    with transaction.atomic():
        lock_stocks(variant_ids)
        # Read again under the locks: a sale may have committed, or another repair run,
        # since the unlocked check.
        _checked, current = stock_drift(variant_ids)
        # More active reservations than on hand would break the row's check constraint:
        # that one needs a person (it is reported so).
        fixable = [f for f in current if f.reserved_drifts and 0 <= f.active_reserved <= f.on_hand]
        if not fixable:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                _SET_RESERVED_SQL,
                {"now": now, "variant_ids": [f.variant_id for f in fixable], "reserved": [f.active_reserved for f in fixable]},
            )
    for f in fixable:
        log.warning("stock %s: reserved repaired from %d to %d", f.sku, f.reserved, f.active_reserved)
    return [ReservedRepair(f.variant_id, f.sku, f.reserved, f.active_reserved) for f in fixable]
