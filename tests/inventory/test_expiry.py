"""Reservation expiry (invariant 2): a reservation past its time never blocks a
sale, swept or not; the sweeper releases each one exactly once, even two sweepers at
once; extending never revives an expired reservation, even racing an expiry."""
from __future__ import annotations

import io
import os
import random
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from cart.models import Cart
from catalog.models import Variant
from inventory import services as inventory
from inventory.locks import lock_stocks
from inventory.models import Reservation, StockMovement
from inventory.selectors import annotate_availability, available_quantities
from shop.errors import InsufficientStock, ReservationExpired
from tests.support.database import database_url
from tests.support.race import Background, Crew, assert_stock_exact, pause_after, wait_until_blocked
from checkout import services as checkout_services

TTL = settings.RESERVATION_TTL


def _start_checkout_expiring_at(cart: Cart, expires_at: datetime) -> None:
    """Start the cart's checkout so that its reservation runs out at `expires_at`."""
    checkout_services.start_checkout(cart_id=cart.pk, now=expires_at - TTL)


def _reservations(cart: Cart) -> list[tuple[int, int, str]]:
    return sorted(Reservation.objects.filter(holder_id=cart.pk).values_list("variant_id", "quantity", "status"))


def _units_released(command_output: str) -> int:
    """The figure from the expire_reservations command's one line of output."""
    match = re.fullmatch(r"Released (\d+) reserved unit\(s\)\.\n", command_output)
    assert match, command_output
    return int(match.group(1))


# --- an expired reservation never blocks a sale -------------------------------------


def test_expired_reservation_does_not_block_checkout_with_sweeper_never_run(make_variant, make_cart):
    shirt = make_variant(on_hand=2)
    late, next_shopper = make_cart({shirt: 2}), make_cart({shirt: 2})
    _start_checkout_expiring_at(late, timezone.now() - timedelta(seconds=1))

    assert available_quantities([shirt.pk]) == {shirt.pk: 2}
    assert annotate_availability(Variant.objects.filter(pk=shirt.pk)).get().available == 2

    checkout_services.start_checkout(cart_id=next_shopper.pk)

    assert _reservations(late) == [(shirt.pk, 2, Reservation.Status.EXPIRED)]
    assert _reservations(next_shopper) == [(shirt.pk, 2, Reservation.Status.ACTIVE)]
    assert_stock_exact(shirt.pk, on_hand=2, reserved=2)
    assert inventory.expire_reservations() == 0  # already released when the row was touched


def test_reservation_expires_at_its_exact_expiry_time(make_variant, make_cart):
    shirt = make_variant(on_hand=1)
    late, next_shopper = make_cart({shirt: 1}), make_cart({shirt: 1})
    expiry = timezone.now() + timedelta(minutes=1)
    _start_checkout_expiring_at(late, expiry)

    with pytest.raises(InsufficientStock):
        checkout_services.start_checkout(cart_id=next_shopper.pk, now=expiry - timedelta(microseconds=1))
    assert available_quantities([shirt.pk], now=expiry) == {shirt.pk: 1}
    checkout_services.start_checkout(cart_id=next_shopper.pk, now=expiry)

    assert _reservations(late) == [(shirt.pk, 1, Reservation.Status.EXPIRED)]
    assert_stock_exact(shirt.pk, on_hand=1, reserved=1)


def test_expired_reservation_does_not_block_a_sale_or_a_removal(make_variant, make_cart):
    shirt, socks = make_variant(on_hand=3), make_variant(on_hand=2)
    late, buyer = make_cart({shirt: 3, socks: 2}), make_cart({shirt: 3})
    _start_checkout_expiring_at(late, timezone.now() - timedelta(minutes=1))

    inventory.commit(holder_id=buyer.pk, items={shirt.pk: 3}, order_id=None)
    inventory.adjust(variant_id=socks.pk, delta=-2, reason=StockMovement.Reason.DAMAGED)

    assert _reservations(late) == sorted([(shirt.pk, 3, "expired"), (socks.pk, 2, "expired")])
    assert_stock_exact(shirt.pk, on_hand=0, reserved=0)
    assert_stock_exact(socks.pk, on_hand=0, reserved=0)


def test_checkout_whose_reservation_expired_and_was_taken_cannot_restart(make_variant, make_cart):
    shirt = make_variant(on_hand=1)
    late, quick = make_cart({shirt: 1}), make_cart({shirt: 1})
    _start_checkout_expiring_at(late, timezone.now() - timedelta(minutes=1))
    checkout_services.start_checkout(cart_id=quick.pk)

    with pytest.raises(InsufficientStock):
        checkout_services.start_checkout(cart_id=late.pk)

    assert _reservations(late) == [(shirt.pk, 1, Reservation.Status.EXPIRED)]
    assert_stock_exact(shirt.pk, on_hand=1, reserved=1)


def test_checkout_whose_reservation_expired_reserves_again_when_stock_allows(make_variant, make_cart):
    shirt = make_variant(on_hand=1)
    late = make_cart({shirt: 1})
    _start_checkout_expiring_at(late, timezone.now() - timedelta(minutes=1))

    checkout_services.start_checkout(cart_id=late.pk)

    assert _reservations(late) == sorted([(shirt.pk, 1, "expired"), (shirt.pk, 1, "active")])
    assert_stock_exact(shirt.pk, on_hand=1, reserved=1)


# --- the sweeper ---------------------------------------------------------------------


def test_sweep_releases_each_expired_reservation_once(make_variant, make_cart):
    shirt, socks, hat = make_variant(on_hand=5), make_variant(on_hand=5), make_variant(on_hand=5)
    now = timezone.now()
    first, second = make_cart({shirt: 2, socks: 1}), make_cart({socks: 3})
    live = make_cart({shirt: 1, hat: 2})
    checkout_services.start_checkout(cart_id=live.pk, now=now)  # first: a later touch would tidy
    _start_checkout_expiring_at(first, now - timedelta(seconds=30))
    _start_checkout_expiring_at(second, now)  # expires_at == now counts as expired

    assert inventory.expire_reservations(now=now) == 6

    assert set(Reservation.objects.filter(holder_id__in=[first.pk, second.pk]).values_list("status", "closed_at")) == {
        (Reservation.Status.EXPIRED, now)
    }
    assert _reservations(live) == sorted([(shirt.pk, 1, "active"), (hat.pk, 2, "active")])
    assert_stock_exact(shirt.pk, on_hand=5, reserved=1)
    assert_stock_exact(socks.pk, on_hand=5, reserved=0)
    assert_stock_exact(hat.pk, on_hand=5, reserved=2)

    assert inventory.expire_reservations(now=now + timedelta(seconds=1)) == 0
    assert set(Reservation.objects.filter(holder_id__in=[first.pk, second.pk]).values_list("closed_at", flat=True)) == {now}
    assert_stock_exact(shirt.pk, on_hand=5, reserved=1)


def test_sweep_works_through_many_rows_in_batches(make_variant, make_cart):
    variants = [make_variant(on_hand=3) for _ in range(7)]
    now = timezone.now()
    for variant in variants:
        _start_checkout_expiring_at(make_cart({variant: 2}), now - timedelta(seconds=1))

    assert inventory.expire_reservations(now=now, batch_size=2) == 14

    for variant in variants:
        assert_stock_exact(variant.pk, on_hand=3, reserved=0)


def test_expire_reservations_command_releases_once_and_reports_units(make_variant, make_cart):
    shirt, socks = make_variant(on_hand=4), make_variant(on_hand=4)
    checkout_services.start_checkout(cart_id=make_cart({shirt: 1}).pk)
    _start_checkout_expiring_at(make_cart({shirt: 3, socks: 1}), timezone.now() - timedelta(seconds=5))

    first, second = io.StringIO(), io.StringIO()
    call_command("expire_reservations", stdout=first)
    call_command("expire_reservations", stdout=second)

    assert _units_released(first.getvalue()) == 4
    assert _units_released(second.getvalue()) == 0
    assert_stock_exact(shirt.pk, on_hand=4, reserved=1)
    assert_stock_exact(socks.pk, on_hand=4, reserved=0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_concurrent_sweeps_release_each_reservation_exactly_once(make_variant, make_cart):
    """Four sweepers at once (two as the management command, two as the service), in
    small batches over many rows so their batches interleave."""
    with Crew(4) as crew:
        for _ in range(8):
            now = timezone.now()
            variants = [make_variant(on_hand=6) for _ in range(12)]
            live = make_cart({variants[0]: 1, variants[5]: 1})
            checkout_services.start_checkout(cart_id=live.pk, now=now)
            expected_units = 0
            for index, variant in enumerate(variants):
                _start_checkout_expiring_at(make_cart({variant: 2}), now - timedelta(seconds=1))
                _start_checkout_expiring_at(make_cart({variant: 1, variants[index - 1]: 1}), now)
                expected_units += 2 + 2
            outputs = [io.StringIO(), io.StringIO()]

            outcomes = crew.run(
                [
                    partial(inventory.expire_reservations, now=now, batch_size=3),
                    partial(inventory.expire_reservations, now=now, batch_size=2),
                    partial(call_command, "expire_reservations", stdout=outputs[0]),
                    partial(call_command, "expire_reservations", stdout=outputs[1]),
                ]
            )

            assert [o.error for o in outcomes if not o.ok] == []
            released = outcomes[0].value + outcomes[1].value + sum(_units_released(out.getvalue()) for out in outputs)
            assert released == expected_units
            for variant in variants:
                assert_stock_exact(variant.pk, on_hand=6, reserved=1 if variant in (variants[0], variants[5]) else 0)
            closed = Reservation.objects.filter(variant__in=variants).exclude(holder_id=live.pk)
            assert closed.count() == 12 + 24
            assert set(closed.values_list("status", flat=True)) == {Reservation.Status.EXPIRED}
            assert _reservations(live) == sorted([(variants[0].pk, 1, "active"), (variants[5].pk, 1, "active")])


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.e2e  # real manage.py processes
def test_two_manage_py_sweeps_started_together_release_each_reservation_once(make_variant, make_cart):
    """The operator's command as real processes (as cron or two hosts would run it), both
    at once, against this test's database."""
    now = timezone.now()
    variants = [make_variant(on_hand=5) for _ in range(30)]
    live = make_cart({variants[3]: 1})
    checkout_services.start_checkout(cart_id=live.pk, now=now)
    for variant in variants:
        _start_checkout_expiring_at(make_cart({variant: 2}), now - timedelta(seconds=1))
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "shop.settings"}
    command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "expire_reservations"]

    sweeps = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [sweep.communicate(timeout=60) for sweep in sweeps]

    assert [sweep.returncode for sweep in sweeps] == [0, 0], outputs
    assert sum(_units_released(out) for out, _err in outputs) == 60
    for variant in variants:
        assert_stock_exact(variant.pk, on_hand=5, reserved=1 if variant == variants[3] else 0)
    assert Reservation.objects.filter(status=Reservation.Status.EXPIRED).count() == 30


@pytest.mark.django_db(transaction=True)
def test_second_sweep_waits_for_the_first_and_finds_nothing_left(make_variant, make_cart):
    """Deterministic: the first sweep is stopped holding the stock locks; the second
    queues behind it and, once it gets the rows, has nothing left to release."""
    shirt, socks = make_variant(on_hand=4), make_variant(on_hand=4)
    now = timezone.now()
    _start_checkout_expiring_at(make_cart({shirt: 3, socks: 2}), now - timedelta(seconds=1))

    with pause_after("inventory.services.lock_stocks", thread_name="first") as pause:
        first = Background(partial(inventory.expire_reservations, now=now), name="first")
        pause.wait_reached()
        second = Background(partial(inventory.expire_reservations, now=now), name="second")
        wait_until_blocked(second.backend_pid)
        pause.resume()

        assert first.result() == 5
        assert second.result() == 0

    assert_stock_exact(shirt.pk, on_hand=4, reserved=0)
    assert_stock_exact(socks.pk, on_hand=4, reserved=0)


# --- extend never revives --------------------------------------------------------------


def test_extend_does_not_revive_an_expired_reservation(make_variant, make_cart):
    shirt = make_variant(on_hand=1)
    late, next_shopper = make_cart({shirt: 1}), make_cart({shirt: 1})
    expiry = timezone.now() - timedelta(seconds=1)
    _start_checkout_expiring_at(late, expiry)

    with pytest.raises(ReservationExpired):
        inventory.extend(holder_id=late.pk, expires_at=timezone.now() + TTL)

    assert list(Reservation.objects.filter(holder_id=late.pk).values_list("expires_at", "status")) == [(expiry, "active")]
    checkout_services.start_checkout(cart_id=next_shopper.pk)  # the units are still free for others
    assert_stock_exact(shirt.pk, on_hand=1, reserved=1)


def test_extend_at_the_exact_expiry_time_is_too_late(make_variant, make_cart):
    shirt = make_variant(on_hand=1)
    cart = make_cart({shirt: 1})
    expiry = timezone.now() + timedelta(minutes=1)
    _start_checkout_expiring_at(cart, expiry)

    assert inventory.extend(holder_id=cart.pk, expires_at=expiry + TTL, now=expiry - timedelta(microseconds=1)) == 1
    with pytest.raises(ReservationExpired):
        inventory.extend(holder_id=cart.pk, expires_at=expiry + 2 * TTL, now=expiry + TTL)

    assert list(Reservation.objects.filter(holder_id=cart.pk).values_list("expires_at", flat=True)) == [expiry + TTL]


def test_extend_never_shortens_a_reservation(make_variant, make_cart):
    shirt, socks = make_variant(on_hand=2), make_variant(on_hand=2)
    cart = make_cart({shirt: 1, socks: 1})
    now = timezone.now()
    checkout_services.start_checkout(cart_id=cart.pk, now=now)

    assert inventory.extend(holder_id=cart.pk, expires_at=now + timedelta(minutes=1), now=now) == 0

    assert set(Reservation.objects.filter(holder_id=cart.pk).values_list("expires_at", flat=True)) == {now + TTL}


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_extend_racing_expiry_either_keeps_or_loses_the_whole_reservation(make_variant, make_cart):
    """Extend (just before the expiry) against a sweep and a rival checkout (just after):
    either the extension wins and the cart keeps every unit, or the expiry wins and the
    rival gets them; never a mix, never units counted twice."""
    rng = random.Random(3)
    with Crew(3) as crew:
        for _ in range(30):
            variants = [make_variant(on_hand=2) for _ in range(3)]
            holder = make_cart({v: 2 for v in reversed(variants)})
            rival = make_cart({v: 2 for v in variants})
            expiry = timezone.now() + timedelta(minutes=1)
            _start_checkout_expiring_at(holder, expiry)
            before, after = expiry - timedelta(milliseconds=1), expiry + timedelta(milliseconds=1)

            extend, sweep, checkout = crew.run(
                [
                    _jittered(rng, partial(inventory.extend, holder_id=holder.pk, expires_at=expiry + TTL, now=before)),
                    _jittered(rng, partial(inventory.expire_reservations, now=after)),
                    _jittered(rng, partial(checkout_services.start_checkout, cart_id=rival.pk, now=after)),
                ]
            )

            assert sweep.ok, sweep.error
            holder_rows = set(Reservation.objects.filter(holder_id=holder.pk).values_list("status", "expires_at"))
            if extend.ok:
                assert extend.value == 3
                assert holder_rows == {(Reservation.Status.ACTIVE, expiry + TTL)}
                assert isinstance(checkout.error, InsufficientStock)
                assert sweep.value == 0
                expected_holder = {v.pk: 2 for v in variants}
            else:
                assert isinstance(extend.error, ReservationExpired), extend.error
                assert holder_rows == {(Reservation.Status.EXPIRED, expiry)}
                assert checkout.ok, checkout.error
                assert sweep.value in (0, 6)
                expected_holder = {}
            assert dict(
                Reservation.objects.filter(holder_id=holder.pk, status="active").values_list("variant_id", "quantity")
            ) == expected_holder
            for variant in variants:
                assert_stock_exact(variant.pk, on_hand=2, reserved=2)


def _jittered(rng: random.Random, call):
    """The call after a small random delay, so the storm's rounds interleave differently
    (which world wins varies; each ordering is also pinned by a deterministic test)."""
    delay = rng.choice([0, 0, 0.001, 0.003, 0.01])

    def run():
        time.sleep(delay)
        return call()

    return run


@pytest.mark.django_db(transaction=True)
def test_extend_holding_the_rows_wins_over_a_sweep_queued_behind_it(make_variant, make_cart):
    """Deterministic: the extension (just before expiry) holds the stock locks; a sweep
    (just after) queues behind it and then finds nothing expired."""
    variants = [make_variant(on_hand=2) for _ in range(3)]
    cart = make_cart({v: 2 for v in variants})
    expiry = timezone.now() + timedelta(minutes=1)
    _start_checkout_expiring_at(cart, expiry)

    with pause_after("inventory.services.lock_stocks", thread_name="extend") as pause:
        extend = Background(
            partial(inventory.extend, holder_id=cart.pk, expires_at=expiry + TTL, now=expiry - timedelta(seconds=1)),
            name="extend",
        )
        pause.wait_reached()
        sweep = Background(partial(inventory.expire_reservations, now=expiry + timedelta(seconds=1)), name="sweep")
        wait_until_blocked(sweep.backend_pid)
        pause.resume()

        assert extend.result() == 3
        assert sweep.result() == 0

    assert set(Reservation.objects.filter(holder_id=cart.pk).values_list("status", "expires_at")) == {("active", expiry + TTL)}
    for variant in variants:
        assert_stock_exact(variant.pk, on_hand=2, reserved=2)


@pytest.mark.django_db(transaction=True)
def test_extend_queues_behind_a_release_instead_of_deadlocking(make_variant, make_cart):
    """Deterministic. A release holding the stock locks closes a cart's reservations one
    row at a time, in its own order (here it already holds the cart's last row). An
    extend of that cart must wait for the stock locks (lock order: cart -> stock ->
    reservations) rather than grab the cart's first row and wait for the last, which
    would deadlock the two."""
    variants = [make_variant(on_hand=2) for _ in range(3)]
    cart = make_cart({v: 1 for v in variants})
    expiry = timezone.now() + timedelta(minutes=1)
    _start_checkout_expiring_at(cart, expiry)
    last_row = Reservation.objects.filter(holder_id=cart.pk).latest("pk")
    holding, go = threading.Event(), threading.Event()

    def release_that_reached_the_last_row() -> int:
        with transaction.atomic():
            lock_stocks([v.pk for v in variants])
            Reservation.objects.select_for_update().get(pk=last_row.pk)
            holding.set()
            assert go.wait(30)
            return inventory.expire_reservations(now=expiry + timedelta(seconds=1))

    release = Background(release_that_reached_the_last_row, name="release")
    assert holding.wait(30)
    extend = Background(
        partial(inventory.extend, holder_id=cart.pk, expires_at=expiry + TTL, now=expiry - timedelta(seconds=1)), name="extend"
    )
    wait_until_blocked(extend.backend_pid)
    go.set()

    assert release.result() == 3
    with pytest.raises(ReservationExpired):
        extend.result()
    assert set(Reservation.objects.filter(holder_id=cart.pk).values_list("status", "expires_at")) == {("expired", expiry)}
    for variant in variants:
        assert_stock_exact(variant.pk, on_hand=2, reserved=0)

