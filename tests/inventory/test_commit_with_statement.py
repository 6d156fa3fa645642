"""The stock statement that ends the outermost transaction carries its COMMIT (issue 13):
reserve (checkout start) and release (cancel, abandon) send `SELECT * FROM
inventory_...(...); COMMIT` as one query, so the hot row is unlocked without a second
round trip (inventory.locks.run_locked, docs/architecture.md "The stock statement").

Transactional tests: wrapped in a test transaction (savepoints) the ordinary path runs,
statement then COMMIT. Here: the commit really happens with the statement; on_commit
callbacks run once after it, never after a failure; a refusal raises InsufficientStock,
lets go of the rows at once and changes nothing; any other error skips the COMMIT and
the atomic block rolls back; the connection works afterwards; inside an enclosing
transaction the COMMIT is left to it; and a second checkout still queues behind the
first's lock and sees its reservation.
"""
from __future__ import annotations

import threading
from datetime import timedelta
from functools import partial
from uuid import uuid4

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from psycopg.pq import TransactionStatus

from cart.models import Cart
from checkout import services as checkout_services
from inventory import services as inventory
from inventory.models import Reservation, Stock
from shop.errors import InsufficientStock
from tests.support.race import Background, assert_stock_exact, wait_until_blocked

pytestmark = pytest.mark.django_db(transaction=True)
TTL = timedelta(minutes=5)


def _stock_statements(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT * FROM inventory_")]


def _reserved_elsewhere(variant_id: int) -> int:
    """`reserved` as another connection sees it: what has been committed."""
    return Background(lambda: Stock.objects.get(variant_id=variant_id).reserved, name="reader").result()


def _hold_stock_row(variant_id: int, holding: threading.Event, go: threading.Event) -> None:
    with transaction.atomic():
        Stock.objects.select_for_update().get(variant_id=variant_id)
        holding.set()
        assert go.wait(30)


def test_a_reserve_ending_the_transaction_commits_with_its_statement(make_variant):
    shirt, socks = make_variant(on_hand=3), make_variant(on_hand=3)
    holder, now = uuid4(), timezone.now()
    ran: list[str] = []

    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        transaction.on_commit(lambda: ran.append("before"))
        reservations = inventory.reserve(
            holder_id=holder, items={socks.pk: 1, shirt.pk: 2}, expires_at=now + TTL, now=now, ends_transaction=True
        )
        # Committed already, inside the block: the server is idle and others see it.
        assert connection.connection.info.transaction_status == TransactionStatus.IDLE
        assert _reserved_elsewhere(shirt.pk) == 2
        transaction.on_commit(lambda: ran.append("after"))
        assert ran == []

    assert ran == ["before", "after"]  # once each, after the block
    (statement,) = _stock_statements(ctx)
    assert statement.endswith(", true); COMMIT")
    assert [(r.variant_id, r.quantity) for r in reservations] == [(shirt.pk, 2), (socks.pk, 1)]
    assert all(r.pk for r in reservations)
    assert_stock_exact(shirt.pk, on_hand=3, reserved=2)
    assert_stock_exact(socks.pk, on_hand=3, reserved=1)


def test_a_release_ending_the_transaction_commits_with_its_statement(make_variant):
    shirt = make_variant(on_hand=3)
    holder, now = uuid4(), timezone.now()
    inventory.reserve(holder_id=holder, items={shirt.pk: 2}, expires_at=now + TTL, now=now)
    ran: list[str] = []

    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        transaction.on_commit(lambda: ran.append("before"))
        freed = inventory.release(holder_id=holder, now=now, ends_transaction=True)
        assert connection.connection.info.transaction_status == TransactionStatus.IDLE
        assert _reserved_elsewhere(shirt.pk) == 0

    assert (freed, ran) == (2, ["before"])
    (statement,) = _stock_statements(ctx)
    assert statement.startswith("SELECT * FROM inventory_release(") and statement.endswith("; COMMIT")
    assert Reservation.objects.get(holder_id=holder).status == Reservation.Status.RELEASED
    assert_stock_exact(shirt.pk, on_hand=3, reserved=0)


def test_checkout_start_and_cancel_send_their_commit_with_the_stock_statement(make_variant, make_cart):
    shirt = make_variant(on_hand=2)
    cart = make_cart({shirt: 2})

    with CaptureQueriesContext(connection) as starting:
        checkout_services.start_checkout(cart_id=cart.pk)
    assert_stock_exact(shirt.pk, on_hand=2, reserved=2)
    with CaptureQueriesContext(connection) as cancelling:
        checkout_services.cancel_checkout(cart_id=cart.pk)

    for ctx in (starting, cancelling):
        sqls = [q["sql"] for q in ctx.captured_queries]
        (index,) = [i for i, sql in enumerate(sqls) if sql.startswith("SELECT * FROM inventory_")]
        assert sqls[index].endswith("; COMMIT"), sqls
        assert sqls[index + 1:] == ["COMMIT"], sqls  # Django's, with nothing left to commit
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.ACTIVE
    assert_stock_exact(shirt.pk, on_hand=2, reserved=0)


def test_a_short_checkout_start_is_refused_and_changes_nothing(make_variant, make_cart):
    shirt, socks = make_variant(on_hand=2), make_variant(on_hand=3)
    cart = make_cart({shirt: 2, socks: 1})
    other = uuid4()
    inventory.reserve(holder_id=other, items={shirt.pk: 1}, expires_at=timezone.now() + TTL)

    with pytest.raises(InsufficientStock) as refused:
        checkout_services.start_checkout(cart_id=cart.pk)

    assert refused.value.details == {"items": [{"sku": shirt.sku, "requested": 2, "available": 1}]}
    cart.refresh_from_db()
    assert (cart.status, cart.reservation_expires_at) == (Cart.Status.ACTIVE, None)  # the cart's write rolled back
    assert not Reservation.objects.filter(holder_id=cart.pk).exists()
    assert_stock_exact(shirt.pk, on_hand=2, reserved=1)
    assert_stock_exact(socks.pk, on_hand=3, reserved=0)
    # The connection carries on: once the other holder lets go, the cart checks out.
    inventory.release(holder_id=other)
    checkout_services.start_checkout(cart_id=cart.pk)
    assert_stock_exact(shirt.pk, on_hand=2, reserved=2)
    assert_stock_exact(socks.pk, on_hand=3, reserved=1)


def test_a_refusal_lets_go_of_the_rows_at_once_and_runs_no_callback(make_variant):
    """Refused, the transaction is rolled back before the short items are named (a
    catalog read): a rival locks the row at once (NOWAIT) while the refused block is
    still open, and the block's on_commit callbacks never run."""
    shirt, socks = make_variant(on_hand=1), make_variant(on_hand=0)
    refused, checked = threading.Event(), threading.Event()
    ran: list[str] = []

    def refuse() -> None:
        with transaction.atomic():
            transaction.on_commit(lambda: ran.append("committed"))
            try:
                inventory.reserve(
                    holder_id=uuid4(), items={shirt.pk: 2, socks.pk: 1}, expires_at=timezone.now() + TTL, ends_transaction=True
                )
            except InsufficientStock:
                refused.set()
                assert checked.wait(30)
                raise

    attempt = Background(refuse, name="refused")
    assert refused.wait(30)
    try:
        with transaction.atomic():
            Stock.objects.select_for_update(nowait=True).get(variant=shirt)
    finally:
        checked.set()
    with pytest.raises(InsufficientStock) as error:
        attempt.result()

    assert error.value.details == {"items": [
        {"sku": shirt.sku, "requested": 2, "available": 1},
        {"sku": socks.sku, "requested": 1, "available": 0},
    ]}
    assert ran == []
    assert_stock_exact(shirt.pk, on_hand=1, reserved=0)


def test_a_failed_stock_statement_skips_the_commit_and_the_start_rolls_back(make_variant, make_cart):
    """Any other error (here a lock timeout while a rival holds the row) makes the
    server skip the COMMIT sent with the statement: the cart's write before it rolls back
    with the atomic block, and the connection works afterwards."""
    shirt = make_variant(on_hand=2)
    cart = make_cart({shirt: 1})
    holding, go = threading.Event(), threading.Event()
    rival = Background(partial(_hold_stock_row, shirt.pk, holding, go), name="rival")
    assert holding.wait(30)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        with pytest.raises(OperationalError):
            checkout_services.start_checkout(cart_id=cart.pk)
        assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    finally:
        go.set()
        rival.result()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE
    assert not Reservation.objects.filter(holder_id=cart.pk).exists()
    assert_stock_exact(shirt.pk, on_hand=2, reserved=0)
    checkout_services.start_checkout(cart_id=cart.pk)
    assert_stock_exact(shirt.pk, on_hand=2, reserved=1)


def test_inside_an_enclosing_transaction_the_commit_is_left_to_it(make_variant, make_cart):
    """start_checkout's block is then a savepoint: the stock statement goes alone, and
    the enclosing transaction still decides (here it rolls everything back)."""
    shirt = make_variant(on_hand=2)
    cart = make_cart({shirt: 1})

    with CaptureQueriesContext(connection) as ctx, pytest.raises(RuntimeError), transaction.atomic():
        checkout_services.start_checkout(cart_id=cart.pk)
        assert connection.connection.info.transaction_status == TransactionStatus.INTRANS
        raise RuntimeError("the enclosing transaction fails")

    (statement,) = _stock_statements(ctx)
    assert statement.endswith(", false)")
    cart.refresh_from_db()
    assert cart.status == Cart.Status.ACTIVE
    assert not Reservation.objects.filter(holder_id=cart.pk).exists()
    assert_stock_exact(shirt.pk, on_hand=2, reserved=0)


def test_a_second_checkout_queues_behind_the_first_and_sees_its_reservation(make_variant, make_cart):
    """Deterministic, on this path (no pause can fall between the statement and its
    COMMIT): a rival holds the row; the first checkout queues for it, then the second
    queues behind the first (PostgreSQL hands a row's lock to its waiters in turn). The
    second gets the row only once the first has committed, and finds the unit gone."""
    shirt = make_variant(on_hand=1)
    first, second = make_cart({shirt: 1}), make_cart({shirt: 1})
    holding, go = threading.Event(), threading.Event()
    rival = Background(partial(_hold_stock_row, shirt.pk, holding, go), name="rival")
    assert holding.wait(30)
    try:
        first_call = Background(partial(checkout_services.start_checkout, cart_id=first.pk), name="first")
        wait_until_blocked(first_call.backend_pid)
        second_call = Background(partial(checkout_services.start_checkout, cart_id=second.pk), name="second")
        wait_until_blocked(second_call.backend_pid)
    finally:
        go.set()
    rival.result()

    first_call.result()
    with pytest.raises(InsufficientStock) as refused:
        second_call.result()
    assert refused.value.details == {"items": [{"sku": shirt.sku, "requested": 1, "available": 0}]}
    assert Cart.objects.get(pk=first.pk).status == Cart.Status.CHECKOUT
    assert Cart.objects.get(pk=second.pk).status == Cart.Status.ACTIVE
    assert_stock_exact(shirt.pk, on_hand=1, reserved=1)


def test_the_abandon_job_releases_with_the_commit_in_the_statement(make_variant, make_cart, settings):
    shirt, socks = make_variant(on_hand=2), make_variant(on_hand=2)
    idle, fresh = make_cart({shirt: 2}), make_cart({socks: 1})
    checkout_services.start_checkout(cart_id=idle.pk)
    later = timezone.now() + settings.CART_ABANDON_AFTER + timedelta(minutes=1)
    checkout_services.start_checkout(cart_id=fresh.pk, now=later)  # active then: not idle

    with CaptureQueriesContext(connection) as ctx:
        assert checkout_services.abandon_idle_carts(now=later) == 1

    (statement,) = _stock_statements(ctx)
    assert statement.startswith("SELECT * FROM inventory_release(") and statement.endswith("; COMMIT")
    assert Cart.objects.get(pk=idle.pk).status == Cart.Status.ABANDONED
    assert Cart.objects.get(pk=fresh.pk).status == Cart.Status.CHECKOUT
    assert Reservation.objects.get(holder_id=idle.pk).status == Reservation.Status.EXPIRED  # ran out before the job
    assert_stock_exact(shirt.pk, on_hand=2, reserved=0)
    assert_stock_exact(socks.pk, on_hand=2, reserved=1)
