"""Row locks for stock (step 5 of the lock order in shop/locks.py).

A transaction that needs several stock rows locks them all in one statement sorted by
variant id, so two carts holding the same SKUs in any line order never deadlock
(invariant 4). Reservation rows are written only under their stock rows' locks.

The checkout's writers (reserve, extend, release, and the sweeper) do all their work in
the statement that takes the locks: `then` names one of the SQL functions of
inventory/migrations/0004 and 0005, which locks the rows in the same order first. Their
caller commits next, so a hot SKU's row stays locked for one statement and a COMMIT
(docs/architecture.md, "Lock order"). When that statement ends the connection's
outermost transaction, the COMMIT travels with it, in the same round trip (run_locked).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db import DatabaseError, connection

from inventory.models import Stock


@dataclass(frozen=True)
class LockedWork:
    """The work a writer does under the stock locks, done by the statement that takes
    them: `call` is the call of one of inventory's SQL functions, with `%(variant_ids)s`
    for the rows to lock (ascending; NULL for lock_reserved_stocks) among its `params`.

    `ends_transaction`: the caller's transaction ends with this statement (its caller
    sends nothing after it and commits). If that transaction is the connection's
    outermost atomic block with no savepoint in it, run_locked sends COMMIT in the same
    round trip, and `%(committing)s` in `call` is true (inventory_reserve then refuses a
    short reserve with an error, which makes the server skip the COMMIT)."""

    call: str
    params: dict[str, Any] = field(default_factory=dict)
    ends_transaction: bool = False


def lock_stocks(variant_ids: Iterable[int], *, then: LockedWork | None = None) -> Any:
    """Lock the stock rows of these variants, creating missing ones, in variant-id order
    (lock order: shop/locks.py). Returns them by variant id.

    With `then`, the locking statement is `then`'s call: it locks the same rows in the
    same order and does its work under them in the same round trip; its result rows are
    returned (missing rows are not created: nothing is on hand there)."""
    ids = sorted(set(variant_ids))
    if then is not None:
        return run_locked(then, ids)
    if not ids:
        return {}
    stocks = _select_for_update(ids)
    if len(stocks) < len(ids):
        missing = [vid for vid in ids if vid not in stocks]
        Stock.objects.bulk_create([Stock(variant_id=vid) for vid in missing], ignore_conflicts=True)
        stocks = _select_for_update(ids)
    return stocks


def lock_reserved_stocks(holder_id: UUID, *, then: LockedWork | None = None) -> Any:
    """Lock the stock rows the holder has active reservations on, in variant-id order, in
    one statement (no separate look-up of its reservations first; lock order:
    shop/locks.py). With `then`, that statement is `then`'s call (see lock_stocks), with
    NULL for the variant ids."""
    if then is not None:
        return run_locked(then, None)
    return _locked_rows(
        "variant_id IN (SELECT variant_id FROM inventory_reservation WHERE holder_id = %s AND status = 'active')", [holder_id]
    )


# Plain SQL: these run on every checkout and the ORM's query building costs more than
# the query itself (bench/hot_sku.py).
_STOCK_COLUMNS = ", ".join(field.column for field in Stock._meta.concrete_fields)
_STOCK_FIELDS = [field.attname for field in Stock._meta.concrete_fields]


def _locked_rows(where: str, params: list) -> dict[int, Stock]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_STOCK_COLUMNS} FROM inventory_stock WHERE {where} ORDER BY variant_id FOR UPDATE", params)
        rows = cursor.fetchall()
    stocks = (Stock.from_db(connection.alias, _STOCK_FIELDS, row) for row in rows)
    return {stock.variant_id: stock for stock in stocks}


def _select_for_update(ids: list[int]) -> dict[int, Stock]:
    return _locked_rows("variant_id = ANY(%s)", [ids])


# SQLSTATE of inventory_reserve's refusal by error (migration 0005); its DETAIL is the
# short items as JSON: [[variant_id, requested, available], ...].
REFUSED = "IS001"


def run_locked(work: LockedWork, variant_ids: list[int] | None) -> list[tuple]:
    """Send `work`'s call, the one statement that locks the rows and writes under them,
    and return its rows.

    With `work.ends_transaction`, in the connection's outermost transaction and no
    savepoint (commits_with_statement), the call and COMMIT go as one query string: the
    rows are unlocked as soon as the server has run it, with no second round trip, and
    the transaction is over when this returns (Django's commit at the end of the atomic
    block then finds nothing to commit, and runs the on_commit callbacks as usual). If
    the statement fails, the server skips the COMMIT and the error is raised as ever,
    so the atomic block rolls back. A refused reserve (SQLSTATE IS001) is rolled back
    here at once, letting go of the rows, and its short items are returned as the rows
    the call without COMMIT returns for them: (None, variant_id, requested, available).
    The atomic block is still open then; what the caller reads next runs in a new
    transaction, which the block rolls back when the refusal leaves it."""
    committing = work.ends_transaction and commits_with_statement()
    params = {**work.params, "variant_ids": variant_ids, "committing": committing}
    with connection.cursor() as cursor:
        if not committing:
            cursor.execute(f"SELECT * FROM {work.call}", params)
            return cursor.fetchall()
        try:
            cursor.execute(f"SELECT * FROM {work.call}; COMMIT", params)
        except DatabaseError as error:
            cause = error.__cause__
            if getattr(cause, "sqlstate", None) != REFUSED:
                raise
            with connection.wrap_database_errors:
                connection.connection.rollback()  # the transaction the server left aborted
            connection.errors_occurred = False  # a refusal, not a broken connection
            return [(None, vid, requested, available) for vid, requested, available in json.loads(cause.diag.message_detail)]
        return cursor.fetchall()


def commits_with_statement() -> bool:
    """Whether the statement being sent may carry the transaction's COMMIT: Django is in
    the outermost atomic block it opened (it committed on its own before, so it will
    commit at the block's end) with no savepoint inside it and no error to roll back.
    Tests wrapped in a transaction have savepoints, so they take the ordinary path."""
    return (
        connection.in_atomic_block
        and connection.commit_on_exit
        and not connection.needs_rollback
        and not connection.closed_in_transaction
        and all(sid is None for sid in connection.savepoint_ids)
    )
