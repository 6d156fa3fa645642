"""cart.services.lock_cart(with_lines=True): the cart's lines are read in the lock's round
trip, after the lock is granted, so a checkout that waited for the cart sees the lines
the holder committed meanwhile: it reserves and quotes exactly those (real transactions
on PostgreSQL)."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import transaction

from cart import selectors as cart_selectors
from cart import services as cart_services
from cart.models import Cart, CartLine
from checkout import services as checkout_services
from inventory.models import Reservation
from tests.support.race import Background, assert_stock_exact, wait_until_blocked

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_a_checkout_that_waited_for_the_cart_reserves_and_quotes_the_lines_committed_meanwhile(make_variant, make_cart):
    lamp, shade = make_variant("LAMP-1", price="40.00", on_hand=5), make_variant("SHADE-1", price="12.50", on_hand=5)
    cart = make_cart({lamp: 1})
    holding, release = threading.Event(), threading.Event()

    def change_the_lines_while_holding_the_cart():
        with transaction.atomic():
            cart_services.lock_cart(cart.pk)
            CartLine.objects.filter(cart_id=cart.pk).update(quantity=3)
            CartLine.objects.create(cart_id=cart.pk, variant=shade, quantity=2)
            holding.set()
            assert release.wait(30)

    holder = Background(change_the_lines_while_holding_the_cart, name="holder")
    assert holding.wait(30)
    starter = Background(lambda: checkout_services.start_checkout(cart_id=cart.pk), name="starter")
    wait_until_blocked(starter.backend_pid)  # queued on the cart's row lock
    release.set()
    holder.result()
    started = starter.result()

    held = dict(Reservation.objects.filter(holder_id=cart.pk, status="active").values_list("variant__sku", "quantity"))
    assert held == {"LAMP-1": 3, "SHADE-1": 2}
    assert_stock_exact(lamp.pk, on_hand=5, reserved=3)
    assert_stock_exact(shade.pk, on_hand=5, reserved=2)
    quoted = dict(CartLine.objects.filter(cart_id=cart.pk).values_list("variant__sku", "quoted_unit_price_usd"))
    assert quoted == {"LAMP-1": Decimal("40.00"), "SHADE-1": Decimal("12.50")}
    # The lines the checkout kept for its response are the ones it reserved and quoted.
    kept = {(line.variant.sku, line.quantity, line.quoted_unit_price_usd) for line in cart_selectors.lines_of(started)}
    assert kept == {("LAMP-1", 3, Decimal("40.00")), ("SHADE-1", 2, Decimal("12.50"))}


def test_the_quote_is_the_price_read_with_the_lines(make_variant, make_cart):
    lamp = make_variant("LAMP-1", price="40.00", on_hand=5)
    cart = make_cart({lamp: 2})

    with transaction.atomic():
        locked = cart_services.lock_cart(cart.pk, with_lines=True)
        lamp.price = lamp.price.__class__(Decimal("99.00"), "USD")  # changed after the read
        lamp.save(update_fields=["price"])
        cart_services.enter_checkout(locked, expires_at=locked.created_at, now=locked.created_at)

    assert CartLine.objects.get(cart_id=cart.pk).quoted_unit_price_usd == Decimal("40.00")
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.CHECKOUT


def test_an_unknown_cart_is_not_found_with_or_without_lines():
    from uuid import uuid4

    from shop.errors import NotFound

    for with_lines in (False, True):
        with pytest.raises(NotFound), transaction.atomic():
            cart_services.lock_cart(uuid4(), with_lines=with_lines)


def test_a_lines_write_that_misses_a_line_raises_and_changes_nothing(make_variant, make_cart):
    from django.db import DatabaseError

    lamp = make_variant("LAMP-1", price="40.00", on_hand=5)
    cart = make_cart({lamp: 1})
    quote, _unquote = cart_services._line_prices_statements()

    with pytest.raises(DatabaseError, match="Cart lines: 1 rows written, 2 expected"), transaction.atomic():
        locked = cart_services.lock_cart(cart.pk, with_lines=True)
        (line_id,) = CartLine.objects.filter(cart_id=cart.pk).values_list("pk", flat=True)
        missing = (quote, [[line_id, line_id + 1000], [Decimal("40.00"), Decimal("1.00")], cart.pk])
        cart_services.touch(locked, locked.created_at, ["status"], lines_write=(missing, 2))

    assert CartLine.objects.get(cart_id=cart.pk).quoted_unit_price_usd is None
