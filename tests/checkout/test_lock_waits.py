"""A checkout request that waits for its cart's lock across the reservation's expiry
must judge the reservation by the time after the wait, and an import that runs while
shoppers check out must take stock locks in the global order (invariants 2,
4, 10)."""
from __future__ import annotations

import threading
from datetime import timedelta
from functools import partial

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cart import services as cart_services
from checkout.imports import import_catalog
from inventory.services import expire_reservations
from inventory.models import Reservation
from shop.errors import ReservationExpired
from tests.support.race import Background, assert_stock_exact, pause_after, wait_until_blocked
from tests.support.waiting import wait_until
from checkout import services as checkout_services

pytestmark = pytest.mark.django_db(transaction=True)
TTL = settings.RESERVATION_TTL


def _hold_cart_lock(cart_id, holding: threading.Event, go: threading.Event) -> None:
    with transaction.atomic():
        cart_services.lock_cart(cart_id)
        holding.set()
        assert go.wait(30)


def _in_a_transaction(call, **kwargs):
    with transaction.atomic():
        return call(**kwargs)


def _checkout_expiring_soon(make_variant, make_cart):
    """Cart A holds X and Y until `expiry`, two seconds ahead; cart B wants X."""
    x, y = make_variant(on_hand=1), make_variant(on_hand=1)
    a, b = make_cart({x: 1, y: 1}), make_cart({x: 1})
    expiry = timezone.now() + timedelta(seconds=2)
    checkout_services.start_checkout(cart_id=a.pk, now=expiry - TTL)
    return x, y, a, b, expiry


def _wait_past(moment) -> None:
    past = moment + timedelta(milliseconds=200)
    wait_until(
        lambda: timezone.now() > past,
        timeout=max((past - timezone.now()).total_seconds(), 0) + 30,
        interval=0.05,
        what=f"the clock to pass {past}",
    )


def test_update_waiting_across_the_expiry_is_refused_and_revives_nothing(make_variant, make_cart):
    x, y, a, b, expiry = _checkout_expiring_soon(make_variant, make_cart)
    holding, go = threading.Event(), threading.Event()
    holder = Background(partial(_hold_cart_lock, a.pk, holding, go), name="holder")
    assert holding.wait(30)
    update = Background(partial(checkout_services.update_checkout, cart_id=a.pk, email="a@example.com"), name="update")
    wait_until_blocked(update.backend_pid)
    _wait_past(expiry)
    checkout_services.start_checkout(cart_id=b.pk)  # takes X, releasing A's as expired

    go.set()
    holder.result()

    assert isinstance(update.outcome().error, ReservationExpired)
    assert dict(Reservation.objects.filter(holder_id=a.pk).values_list("variant_id", "status")) == {x.pk: "expired", y.pk: "active"}
    assert Reservation.objects.get(holder_id=a.pk, variant=y).expires_at == expiry
    assert_stock_exact(x.pk, on_hand=1, reserved=1)


def test_checkout_start_waiting_across_the_expiry_reserves_again(make_variant, make_cart):
    x, y, a, _b, expiry = _checkout_expiring_soon(make_variant, make_cart)
    holding, go = threading.Event(), threading.Event()
    holder = Background(partial(_hold_cart_lock, a.pk, holding, go), name="holder")
    assert holding.wait(30)
    start = Background(partial(checkout_services.start_checkout, cart_id=a.pk), name="start")
    wait_until_blocked(start.backend_pid)
    _wait_past(expiry)
    assert expire_reservations() == 2  # the beat sweep runs meanwhile

    go.set()
    holder.result()

    assert start.outcome().ok
    assert set(Reservation.objects.filter(holder_id=a.pk, status="active").values_list("variant_id", flat=True)) == {x.pk, y.pk}
    assert_stock_exact(x.pk, on_hand=1, reserved=1)
    assert_stock_exact(y.pk, on_hand=1, reserved=1)


def _file(*entries: tuple[str, str, int]) -> dict:
    return {
        "products": [
            {"slug": slug, "name": slug.title(), "variants": [{"sku": sku, "price_usd": "10.00", "stock": stock}]}
            for slug, sku, stock in entries
        ]
    }


def test_import_while_a_checkout_holds_the_stock_lock_waits_instead_of_deadlocking(make_variant, make_cart):
    shirt = make_variant("SHIRT-1", on_hand=5)
    cart = make_cart({shirt: 1})

    with pause_after("inventory.services.lock_stocks", thread_name="checkout") as pause:
        # In an enclosing transaction, so that the stock statement's COMMIT waits for it
        # and the pause holds the row (alone, the statement carries its COMMIT).
        checkout = Background(partial(_in_a_transaction, checkout_services.start_checkout, cart_id=cart.pk), name="checkout")
        pause.wait_reached()  # the checkout holds SHIRT-1's stock row, not yet its reservation
        importer = Background(partial(import_catalog, _file((shirt.product.slug, "SHIRT-1", 7))), name="import")
        wait_until_blocked(importer.backend_pid)
        pause.resume()
        results = checkout.outcome(), importer.outcome()

    assert [r.error for r in results] == [None, None]
    assert_stock_exact(shirt.pk, on_hand=7, reserved=1)


def test_import_listing_a_high_id_first_locks_in_id_order(make_variant, make_cart):
    low, high = make_variant("LOW-1", on_hand=5), make_variant("HIGH-2", on_hand=5)
    assert low.pk < high.pk
    cart = make_cart({low: 1, high: 1})
    data = _file((high.product.slug, "HIGH-2", 8), (low.product.slug, "LOW-1", 8))

    with pause_after("inventory.services.lock_stocks", thread_name="import") as pause:
        importer = Background(partial(import_catalog, data), name="import")
        pause.wait_reached()  # the import holds both stock rows
        checkout = Background(partial(checkout_services.start_checkout, cart_id=cart.pk), name="checkout")
        wait_until_blocked(checkout.backend_pid)
        pause.resume()
        results = checkout.outcome(), importer.outcome()

    assert [r.error for r in results] == [None, None]
    assert_stock_exact(low.pk, on_hand=8, reserved=1)
    assert_stock_exact(high.pk, on_hand=8, reserved=1)
