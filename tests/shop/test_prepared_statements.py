"""shop.prepared_statements: a statement is prepared once per connection, in the query
string of its first execution (never a round trip of its own), then run by name; after a
query string that failed, the connection starts over; results are the text statement's."""
from __future__ import annotations

import itertools

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from shop import prepared_statements
from shop.prepared_statements import Prepared

pytestmark = pytest.mark.django_db

_names = itertools.count()


def fresh(sql: str) -> Prepared:
    """A statement no connection has prepared yet."""
    return Prepared(f"test_statement_{next(_names)}", sql)  # a new purpose: a new name


def server_prepared() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return dict(cursor.fetchall())


def run(*statements) -> tuple[list[list[tuple]], list[str]]:
    """Each statement's rows, and the query strings sent."""
    with CaptureQueriesContext(connection) as sent, connection.cursor() as cursor:
        prepared_statements.execute(cursor, *statements)
        rows = [cursor.fetchall()]
        for _ in statements[1:]:
            cursor.nextset()
            rows.append(cursor.fetchall())
    return rows, [query["sql"] for query in sent.captured_queries]


def test_the_first_execution_carries_the_prepare_later_ones_only_execute():
    double = fresh("SELECT %s::int * 2, %s::text")

    first, sent_first = run((double, [21, "a"]))
    again, sent_again = run((double, [5, "50% off"]))

    assert first == [[(42, "a")]] and again == [[(10, "50% off")]]
    assert len(sent_first) == 1 and sent_first[0].startswith(f"PREPARE {double.name} AS SELECT $1::int * 2, $2::text;")
    assert sent_again == [f"EXECUTE {double.name}(5, '50% off')"]
    assert double.name in server_prepared()


def test_several_statements_go_in_one_string_each_result_in_order():
    one, two = fresh("SELECT %s::int + 1"), fresh("SELECT %s::text || '%', %s::int")  # a literal %, as it is

    rows, sent = run((one, [1]), (two, ["x", 3]), (one, [10]))

    assert rows == [[(2,)], [("x%", 3)], [(11,)]]
    assert len(sent) == 1 and sent[0].count("PREPARE") == 2  # `one` prepared once


def temporary_table(name: str, columns: str, values: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns})")
        cursor.execute(f"INSERT INTO {name} VALUES {values}")


def test_a_write_and_its_rowcount():
    temporary_table("prepared_test", "id int PRIMARY KEY, note text", "(1, 'a'), (2, 'b')")
    update = fresh("UPDATE prepared_test SET note = %s WHERE id = ANY(%s::int[])")
    with connection.cursor() as cursor:
        prepared_statements.execute(cursor, (update, ["z", [1, 2, 3]]))
        assert cursor.rowcount == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, note FROM prepared_test ORDER BY id")
        assert cursor.fetchall() == [(1, "z"), (2, "z")]


def test_a_failed_string_makes_the_connection_start_over():
    ok, failing = fresh("SELECT %s::int"), fresh("SELECT 1 / %s::int")
    run((ok, [1]))

    with pytest.raises(DatabaseError), transaction.atomic():
        run((failing, [0]))  # prepared, then the EXECUTE fails: division by zero

    rows, sent = run((failing, [4]), (ok, [7]))

    assert rows == [[(0,)], [(7,)]]
    (text,) = sent
    assert text.startswith("DEALLOCATE ALL; ") and text.count("PREPARE") == 2  # both again, afresh
    assert set(server_prepared()) >= {ok.name, failing.name}


def test_a_statement_the_schema_changed_under_is_prepared_again():
    temporary_table("prepared_schema", "id int PRIMARY KEY, note varchar(10)", "(1, 'a')")
    read = fresh("SELECT id, note FROM prepared_schema WHERE id = %s")
    run((read, [1]))
    with connection.cursor() as cursor:  # a migration widens the column
        cursor.execute("ALTER TABLE prepared_schema ALTER note TYPE text")

    with pytest.raises(DatabaseError, match="cached plan must not change result type"), transaction.atomic():
        run((read, [1]))  # this one fails: PostgreSQL refuses the old plan

    rows, sent = run((read, [1]))
    assert rows == [[(1, "a")]] and sent[0].startswith("DEALLOCATE ALL; PREPARE ")


def test_names_are_the_purpose_and_a_digest_of_the_text():
    one, same, other = Prepared("cart_save", "SELECT %s::int"), Prepared("cart_save", "SELECT %s::int"), Prepared("cart_save", "SELECT %s::text")

    assert one.name == same.name != other.name
    assert one.name.startswith("cart_save_") and other.name.startswith("cart_save_")


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again():
    double = fresh("SELECT %s::int * 2")
    run((double, [1]))
    connection.close()

    rows, sent = run((double, [3]))

    assert rows == [[(6,)]] and sent[0].startswith(f"PREPARE {double.name} AS ")


@pytest.mark.django_db(transaction=True)
def test_prepared_before_a_rollback_it_stays_prepared():
    double = fresh("SELECT %s::int * 2")
    with pytest.raises(RuntimeError), transaction.atomic():
        run((double, [1]))
        raise RuntimeError("rolled back")

    assert double.name in server_prepared()
    _rows, sent = run((double, [2]))
    assert sent == [f"EXECUTE {double.name}(2)"]
