"""Statements PostgreSQL parses and plans once per connection, then runs by name.

Sent as text, a statement is parsed and planned on every execution; for the checkout's
hottest statements (locking the cart, reading its lines, writing the line prices and the
cart) that cost the server as much as running them (bench/hot_sku.py). A `Prepared`
statement is sent as `EXECUTE name(...)` instead, and PostgreSQL keeps its plan for the
connection.

The first execution on a connection sends `PREPARE name AS ...; EXECUTE name(...)` as one
query string, so preparing never costs a round trip of its own; what each connection has
prepared is remembered beside it. A statement's name ends with a digest of its text, so
two texts never share a name, whichever thread built them first.

After any query string that failed, the next one on that connection starts with
`DEALLOCATE ALL` and prepares afresh: PREPARE is not undone by a rollback, so a failed
string may or may not have prepared its statements, and a prepared statement may itself
be what failed (after a migration changes a column it returns, PostgreSQL refuses to run
it: "cached plan must not change result type"). One failed request per connection, then
the statements are prepared again against the new schema.

Parameters are bound by the client as for any other statement (psycopg's client-side
binding, Django's default for PostgreSQL; the database OPTIONS must not turn on
`server_side_binding`), and PostgreSQL infers each parameter's type from the statement.
A pooler that hands one server session to several clients (PgBouncer in transaction
mode) would break this; the shop connects directly (docs/deploy.md).
"""
from __future__ import annotations

import hashlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.utils import CursorWrapper

# psycopg connection -> names of the statements it has prepared (RESET: unknown, start over)
_prepared_on: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_RESET = ""


# A Prepared statement and its parameters.
Statement = tuple["Prepared", Sequence[Any]]


@dataclass(frozen=True)
class Prepared:
    """One statement: `sql` with `%s` for each parameter, in order (any other `%` is
    itself: the text is not formatted, and no `%s` may appear in a literal), prepared
    under `purpose` ([a-z0-9_]) and a digest of the text."""

    purpose: str
    sql: str
    name: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.blake2s(self.sql.encode(), digest_size=6).hexdigest()
        object.__setattr__(self, "name", f"{self.purpose}_{digest}")

    def definition(self) -> str:
        numbered = self.sql.split("%s")
        body = "".join(f"{part}${i}" for i, part in enumerate(numbered[:-1], start=1)) + numbered[-1]
        return f"PREPARE {self.name} AS {body.replace('%', '%%')}"

    def call(self, params: Sequence[Any]) -> str:
        return f"EXECUTE {self.name}({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {self.name}"


def execute(cursor: CursorWrapper, *statements: Statement) -> None:
    """Run `statements` (each a Prepared and its parameters) in order as one query string
    on Django's `cursor`, preparing those this connection has not prepared yet. The
    cursor is left at the first statement's result; cursor.nextset() moves to the next."""
    if not isinstance(cursor.cursor, psycopg.ClientCursor):
        raise ImproperlyConfigured("shop.prepared_statements needs client-side binding (no server_side_binding)")
    known = _prepared_on.setdefault(cursor.db.connection, set())
    preamble = []
    if _RESET in known:
        preamble.append("DEALLOCATE ALL")
        known.clear()
    new = {prepared.name: prepared for prepared, _params in statements if prepared.name not in known}
    preamble += [prepared.definition() for prepared in new.values()]
    sql = "; ".join([*preamble, *(prepared.call(params) for prepared, params in statements)])
    params = [value for _prepared, statement_params in statements for value in statement_params]
    try:
        cursor.execute(sql, params)
    except BaseException:
        known.add(_RESET)  # prepared or not, valid or not: start over
        raise
    known.update(new)
    for _ in preamble:
        cursor.nextset()

