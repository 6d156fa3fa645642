"""What the checkout start and cancel requests send to the database (issue 13).

Each request does only what it must: the cart is locked, written, and the stock statement
(one statement: reserve, extend or release) comes last in the transaction, so nothing
else runs while a hot SKU's row is locked. The response is built from the cart the
request saved and the lines the statement that wrote them returned (one query for the
lines when nothing wrote them); rates and shipping zones and methods are read at most
once per request.

Counts are of query strings sent, each a round trip (the test's own SAVEPOINTs around
each request's transaction left out; in production they are BEGIN and COMMIT). The cart's
lock and the read of its lines go as one string, and so do the writes of the line prices
and of the cart, as prepared statements (shop/prepared_statements.py: EXECUTE by name;
the first time on a connection, their PREPARE rides in the same string). Before issue 13
a start sent 9, a start while in checkout 10 and a cancel 10 (with the after-commit look
for an open PaymentIntent). A cart with no discount code holds no use of one, and a cart
with no email or no shipping address never asked for payment (so has no PaymentIntent):
for them those statements are not sent.
"""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cart.models import Cart
from currencies import rates
from discounts.models import DiscountCode
from tests.support.shipping import make_method, rest_of_world

ADDRESS = {"name": "Ada Lovelace", "line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117", "country": "DE"}
STOCK_STATEMENT = ("inventory_reserve(", "inventory_extend(", "inventory_release(")
SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


class Sent:
    """The statements of one request, the after-commit ones included."""

    def __init__(self, captured: list[dict]):
        self.all = [q["sql"] for q in captured]
        self.statements = [sql for sql in self.all if not sql.startswith(SAVEPOINTS)]

    def __len__(self) -> int:
        return len(self.statements)

    def __str__(self) -> str:
        return "\n".join(f"  {sql[:160]}" for sql in self.all)

    __repr__ = __str__  # an assertion's message lists the statements

    def touching(self, table: str) -> list[str]:
        return [sql for sql in self.statements if table in sql]

    def running(self, purpose: str) -> list[str]:
        """The query strings that run a prepared statement of that purpose (its name is
        the purpose and a digest of its text)."""
        return [sql for sql in self.statements if re.search(rf"\bEXECUTE {purpose}_[0-9a-f]+\(", sql)]

    def in_transaction(self) -> list[str]:
        """The statements of the request's transaction (between the outermost SAVEPOINT
        and its RELEASE SAVEPOINT, BEGIN and COMMIT in production)."""
        start = next(i for i, sql in enumerate(self.all) if sql.startswith("SAVEPOINT"))
        end = next(i for i, sql in enumerate(self.all) if sql.startswith("RELEASE SAVEPOINT"))
        return [sql for sql in self.all[start + 1:end] if not sql.startswith(SAVEPOINTS)]

    def stock_statement_ends_its_transaction(self) -> bool:
        """The stock statement is followed by the end of the request's transaction (the
        outermost RELEASE SAVEPOINT here, COMMIT in production), nothing in between."""
        (index,) = [i for i, sql in enumerate(self.all) if sql.startswith("SELECT * FROM inventory_")]
        return self.all[index + 1].startswith("RELEASE SAVEPOINT") and not any(
            sql.startswith("RELEASE SAVEPOINT") for sql in self.all[:index]
        )


@pytest.fixture
def send(api, django_capture_on_commit_callbacks):
    """send(method, path) -> (response, Sent), after-commit callbacks run and counted."""

    def run(method: str, path: str, data=None):
        with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True):
            response = getattr(api, method)(path, data)
        assert response.status_code == 200, response.content
        return response, Sent(ctx.captured_queries)

    return run


@pytest.fixture
def cart(make_variant, make_cart, known_rates):
    cart = make_cart({make_variant(on_hand=5): 1, make_variant(on_hand=5): 2})
    rates.rate_table()  # the rate table is in the cache, as on a running shop
    return cart


def test_start_sends_three_and_reserves_last(cart, send):
    response, sent = send("post", f"/api/v1/carts/{cart.pk}/checkout/")

    assert response.json()["status"] == "checkout"
    # Lock the cart and read its lines with their variants (for the reserve, the quote and
    # the response); fix the line prices and save the cart; reserve. Nothing is read again.
    assert len(sent) == 3, sent
    assert sent.running("cart_lock") == sent.running("cart_lines") == [sent.statements[0]], sent
    assert sent.running("cart_lines_quote") == [sent.statements[1]] and sent.running("cart_save") == [sent.statements[1]], sent
    assert sent.statements[2].startswith("SELECT * FROM inventory_reserve(")
    assert sent.stock_statement_ends_its_transaction(), sent


def test_start_again_in_checkout_sends_four_and_extends_last(cart, send):
    send("post", f"/api/v1/carts/{cart.pk}/checkout/")

    _response, sent = send("post", f"/api/v1/carts/{cart.pk}/checkout/")

    # Lock and lines (also the response's), save the cart, look at the reservations,
    # extend them. No code, so no discount use to extend.
    assert len(sent) == 4, sent
    assert sent.running("cart_lock") == sent.running("cart_lines") == [sent.statements[0]], sent
    assert sent.touching("discounts_") == [], sent
    assert sum(sql.startswith("SELECT * FROM inventory_extend(") for sql in sent.statements) == 1
    assert sent.stock_statement_ends_its_transaction(), sent


def test_cancel_sends_four_and_releases_last(cart, send):
    send("post", f"/api/v1/carts/{cart.pk}/checkout/")

    response, sent = send("delete", f"/api/v1/carts/{cart.pk}/checkout/")

    assert response.json()["status"] == "active"
    # The payment lock; lock the cart and read its lines (for the response); clear the
    # line prices and save the cart; release the stock. No code, no email: no discount
    # use to release, no PaymentIntent to look for after the commit.
    assert len(sent) == 4, sent
    assert sent.statements[0].startswith("SELECT pg_try_advisory_xact_lock(")
    assert sent.running("cart_lock") == sent.running("cart_lines") == [sent.statements[1]], sent
    assert sent.running("cart_lines_unquote") == sent.running("cart_save") == [sent.statements[2]], sent
    assert sent.statements[3].startswith("SELECT * FROM inventory_release(")
    assert sent.touching("discounts_") == sent.touching("payments_") == [], sent
    assert sent.stock_statement_ends_its_transaction(), sent


@pytest.fixture
def cart_with_code(cart, api):
    """The cart in checkout with an email, an address, a shipping method and a code: a
    payment could have been asked for and a use of the code held."""
    make_method(code="standard", name="Standard", price="5.00", zone=rest_of_world())
    DiscountCode.objects.create(code="SAVE10", kind=DiscountCode.Kind.PERCENT, value=Decimal("10"))
    api.post(f"/api/v1/carts/{cart.pk}/checkout/")
    response = api.patch(
        f"/api/v1/carts/{cart.pk}/checkout/",
        {"email": "ada@example.com", "shipping_address": ADDRESS, "shipping_method": "standard", "discount_code": "SAVE10"},
    )
    assert response.status_code == 200, response.content
    return cart


def test_with_a_code_start_again_also_extends_the_use_before_the_stock(cart_with_code, send):
    _response, sent = send("post", f"/api/v1/carts/{cart_with_code.pk}/checkout/")

    # As without a code (lock and lines, save the cart, look at the reservations, extend
    # them), plus the extension of the code's use, before the stock's. (The response
    # then prices the cart with its code, tax and shipping.)
    assert len(sent.in_transaction()) == 5, sent
    assert len(sent.touching('UPDATE "discounts_discountuse"')) == 1, sent
    assert sent.stock_statement_ends_its_transaction(), sent


def test_with_a_code_and_an_address_cancel_releases_the_use_and_looks_for_an_intent(cart_with_code, send):
    response, sent = send("delete", f"/api/v1/carts/{cart_with_code.pk}/checkout/")

    assert response.json()["status"] == "active"
    # As without them (payment lock, lock and lines, clear the line prices and save the
    # cart, release the stock), plus the release of a use of the code; after the commit,
    # the look for an open PaymentIntent to cancel.
    assert len(sent.in_transaction()) == 5, sent
    assert len(sent.touching('UPDATE "discounts_discountuse"')) == 1, sent
    assert len(sent.touching('FROM "payments_payment"')) == 1, sent
    assert sent.stock_statement_ends_its_transaction(), sent


def test_the_response_is_what_a_read_of_the_cart_says(cart, send, api):
    started, _sent = send("post", f"/api/v1/carts/{cart.pk}/checkout/")
    assert started.json() == api.get(f"/api/v1/carts/{cart.pk}/").json()

    cancelled, _sent = send("delete", f"/api/v1/carts/{cart.pk}/checkout/")
    assert cancelled.json() == api.get(f"/api/v1/carts/{cart.pk}/").json()


def test_a_read_of_the_cart_sends_two(cart, send):
    _response, sent = send("get", f"/api/v1/carts/{cart.pk}/")

    assert len(sent) == 2, sent


@pytest.fixture
def cart_with_address(make_variant, make_cart, known_rates, api):
    """A EUR cart whose checkout was started, given an address and a method, and
    cancelled: starting again fixes the method's price."""
    make_method(code="standard", name="Standard", price="5.00", zone=rest_of_world())
    cart = make_cart({make_variant(on_hand=5): 1}, currency="EUR")
    api.post(f"/api/v1/carts/{cart.pk}/checkout/")
    api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"email": "ada@example.com", "shipping_address": ADDRESS, "shipping_method": "standard"})
    api.delete(f"/api/v1/carts/{cart.pk}/checkout/")
    return Cart.objects.get(pk=cart.pk)


def test_rates_are_read_from_the_cache_once_per_request(cart_with_address, send, monkeypatch):
    reads = []
    real_get = rates.cache.get
    monkeypatch.setattr(rates.cache, "get", lambda key, *args, **kwargs: reads.append(key) or real_get(key, *args, **kwargs))

    response, sent = send("post", f"/api/v1/carts/{cart_with_address.pk}/checkout/")

    assert response.json()["shipping_method"] == "standard"
    assert response.json()["shipping"] == {"amount": "4.61", "currency": "EUR"}  # 5.00 USD at 0.9215
    rate_reads = [key for key in reads if key.startswith("shop:rates:")]
    assert len(rate_reads) == 2, reads  # the generation and the table, once
    assert sent.touching("currencies_") == []
    assert sent.stock_statement_ends_its_transaction(), sent


def test_shipping_zones_and_methods_are_read_once_per_request(make_variant, make_cart, known_rates, send):
    make_method(code="standard", name="Standard", price="5.00", zone=rest_of_world())
    cart = make_cart({make_variant(on_hand=5): 1}, currency="EUR")
    send("post", f"/api/v1/carts/{cart.pk}/checkout/")

    # The address is checked against the zones, then the method against the zone's
    # methods: one read of each.
    _response, sent = send(
        "patch",
        f"/api/v1/carts/{cart.pk}/checkout/",
        {"email": "ada@example.com", "shipping_address": ADDRESS, "shipping_method": "standard"},
    )

    assert len(sent.touching('FROM "shipping_shippingzone"')) == 1, sent
    assert len(sent.touching('FROM "shipping_shippingmethod"')) == 1, sent
