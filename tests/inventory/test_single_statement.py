"""Reserve, extend and release take the hot rows with one statement (issue 13): the SQL
functions of migration 0004, sent by inventory.services through inventory.locks. Nothing
else is sent while a stock row is locked, a refused reserve lets go of the rows before it
returns, and an extend of a reservation that already ran out locks nothing."""
from __future__ import annotations

import threading
from datetime import timedelta
from uuid import uuid4

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import services as inventory
from inventory.locks import LockedWork, lock_stocks
from inventory.models import Reservation, Stock
from shop.errors import InsufficientStock, ReservationExpired
from tests.support.race import Background, assert_stock_exact

TTL = timedelta(minutes=5)
SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def _statements(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(SAVEPOINTS)]


def _touching_stock(sqls: list[str]) -> list[str]:
    return [sql for sql in sqls if "inventory_stock" in sql or "inventory_reserve(" in sql
            or "inventory_extend(" in sql or "inventory_release(" in sql]


def test_reserve_extend_and_release_are_one_statement_each(make_variant):
    shirt, socks = make_variant(on_hand=5), make_variant(on_hand=5)
    holder, now = uuid4(), timezone.now()

    with CaptureQueriesContext(connection) as reserving:
        reservations = inventory.reserve(holder_id=holder, items={socks.pk: 2, shirt.pk: 1}, expires_at=now + TTL, now=now)
    with CaptureQueriesContext(connection) as extending:
        moved = inventory.extend(holder_id=holder, expires_at=now + 2 * TTL, now=now)
    with CaptureQueriesContext(connection) as releasing:
        freed = inventory.release(holder_id=holder, now=now)

    assert [(r.variant_id, r.quantity) for r in reservations] == [(shirt.pk, 1), (socks.pk, 2)]
    assert (moved, freed) == (2, 3)
    assert _statements(reserving) == _touching_stock(_statements(reserving))
    assert len(_statements(reserving)) == 1
    # extend reads the holder's reservations (no lock) before its one locking statement
    assert len(_statements(extending)) == 2 and len(_touching_stock(_statements(extending))) == 1
    assert _statements(extending)[-1].startswith("SELECT * FROM inventory_extend(")
    assert len(_statements(releasing)) == 1 and _statements(releasing)[0].startswith("SELECT * FROM inventory_release(")
    assert_stock_exact(shirt.pk, on_hand=5, reserved=0)
    assert_stock_exact(socks.pk, on_hand=5, reserved=0)


def test_a_short_reserve_names_every_short_item_and_changes_nothing(make_variant, make_cart):
    shirt, socks, hat = make_variant(on_hand=1), make_variant(on_hand=3), make_variant(on_hand=0)
    holder, now = uuid4(), timezone.now()
    inventory.reserve(holder_id=uuid4(), items={socks.pk: 2}, expires_at=now + TTL, now=now)

    with pytest.raises(InsufficientStock) as refused, transaction.atomic():
        inventory.reserve(holder_id=holder, items={shirt.pk: 1, socks.pk: 2, hat.pk: 1}, expires_at=now + TTL, now=now)

    assert refused.value.details == {"items": [
        {"sku": socks.sku, "requested": 2, "available": 1},
        {"sku": hat.sku, "requested": 1, "available": 0},
    ]}
    assert not Reservation.objects.filter(holder_id=holder).exists()
    assert_stock_exact(shirt.pk, on_hand=1, reserved=0)
    assert_stock_exact(socks.pk, on_hand=3, reserved=2)


@pytest.mark.django_db(transaction=True)
def test_a_refused_reserve_lets_go_of_the_rows_before_its_transaction_ends(make_variant):
    """The refusal undoes its work inside the function and releases the locks there: a
    rival locks the row at once (NOWAIT) while the refused transaction is still open."""
    shirt = make_variant(on_hand=1)
    refused, checked = threading.Event(), threading.Event()

    def refuse() -> None:
        with transaction.atomic():
            try:
                inventory.reserve(holder_id=uuid4(), items={shirt.pk: 2}, expires_at=timezone.now() + TTL)
            except InsufficientStock:
                refused.set()
                assert checked.wait(30)

    attempt = Background(refuse, name="refused")
    assert refused.wait(30)
    try:
        with transaction.atomic():
            Stock.objects.select_for_update(nowait=True).get(variant=shirt)
    finally:
        checked.set()
    attempt.result()
    assert_stock_exact(shirt.pk, on_hand=1, reserved=0)


def test_extend_of_a_reservation_that_ran_out_locks_nothing(make_variant):
    shirt = make_variant(on_hand=2)
    holder, started = uuid4(), timezone.now() - timedelta(minutes=6)
    inventory.reserve(holder_id=holder, items={shirt.pk: 1}, expires_at=started + TTL, now=started)

    with CaptureQueriesContext(connection) as ctx, pytest.raises(ReservationExpired):
        inventory.extend(holder_id=holder, expires_at=timezone.now() + TTL)

    assert _touching_stock(_statements(ctx)) == []
    assert Reservation.objects.get(holder_id=holder).status == Reservation.Status.ACTIVE  # never revived, never closed


def test_the_extend_statement_refuses_when_a_reservation_closed_while_it_waited(make_variant):
    """What the locked statement checks again: the holder's reservations as the caller
    saw them must all still be active and live, else -1 and nothing moves."""
    shirt, socks = make_variant(on_hand=2), make_variant(on_hand=2)
    holder, now = uuid4(), timezone.now()
    inventory.reserve(holder_id=holder, items={shirt.pk: 1, socks.pk: 1}, expires_at=now + TTL, now=now)
    Reservation.objects.filter(holder_id=holder, variant=socks).update(status=Reservation.Status.EXPIRED)  # a sweep
    work = LockedWork(
        "inventory_extend(%(variant_ids)s::bigint[], %(holder_id)s::uuid, %(expires_at)s::timestamptz, %(now)s::timestamptz)",
        {"holder_id": holder, "expires_at": now + 2 * TTL, "now": now},
    )

    with transaction.atomic():
        assert lock_stocks([shirt.pk, socks.pk], then=work) == [(-1,)]

    assert Reservation.objects.get(holder_id=holder, variant=shirt).expires_at == now + TTL


def test_the_sweeper_closes_only_reservations_past_their_time(make_variant):
    shirt = make_variant(on_hand=5)
    now = timezone.now()
    lapsed, live = uuid4(), uuid4()
    inventory.reserve(holder_id=live, items={shirt.pk: 1}, expires_at=now + TTL, now=now)
    inventory.reserve(holder_id=lapsed, items={shirt.pk: 2}, expires_at=now - timedelta(seconds=1), now=now - TTL)

    with CaptureQueriesContext(connection) as ctx:
        assert inventory.expire_reservations(now=now) == 2

    assert sum(sql.startswith("SELECT * FROM inventory_release(") for sql in _statements(ctx)) == 1
    assert Reservation.objects.get(holder_id=lapsed).status == Reservation.Status.EXPIRED
    assert Reservation.objects.get(holder_id=live).status == Reservation.Status.ACTIVE
    assert_stock_exact(shirt.pk, on_hand=5, reserved=1)
