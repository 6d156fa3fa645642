"""Stock under real concurrent PostgreSQL transactions (invariants 1, 3 and 4).

Thread storms (a barrier releases every transaction at once, round after round) next to
deterministic races (one transaction is stopped while it holds its locks and a rival is
seen queueing behind it), so a pass never rests on luck.
"""
from __future__ import annotations

import random
from datetime import timedelta
from functools import partial

import pytest
from django.db import transaction
from django.utils import timezone

from cart.models import Cart
from inventory import services as inventory
from inventory.models import Reservation, StockMovement
from shop.errors import InsufficientStock, StockAdjustmentRefused
from tests.support.race import Background, Crew, assert_stock_exact, pause_after, wait_until_blocked
from checkout import services as checkout_services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SHOPPERS = 50
ROUNDS = 20


def _reserved_by(cart: Cart) -> dict[int, int]:
    return dict(
        Reservation.objects.filter(holder_id=cart.pk, status=Reservation.Status.ACTIVE).values_list("variant_id", "quantity")
    )


def _assert_no_database_failure(outcomes) -> None:
    """Only the domain's refusal may come back: never a deadlock, serialization or
    constraint error from PostgreSQL."""
    unexpected = [o.error for o in outcomes if o.error is not None and not isinstance(o.error, InsufficientStock)]
    assert unexpected == [], unexpected[:3]


def test_fifty_shoppers_race_for_ten_units_and_exactly_ten_win(make_variant, make_cart):
    with Crew(SHOPPERS) as crew:
        for _ in range(ROUNDS):
            shirt = make_variant(on_hand=10)
            carts = [make_cart({shirt: 1}) for _ in range(SHOPPERS)]

            outcomes = crew.run([partial(checkout_services.start_checkout, cart_id=cart.pk) for cart in carts])

            _assert_no_database_failure(outcomes)
            winners = [cart for cart, outcome in zip(carts, outcomes) if outcome.ok]
            losers = [(cart, outcome.error) for cart, outcome in zip(carts, outcomes) if not outcome.ok]
            assert len(winners) == 10
            assert len(losers) == 40
            for _cart, error in losers:
                assert error.details == {"items": [{"sku": shirt.sku, "requested": 1, "available": 0}]}
            assert_stock_exact(shirt.pk, on_hand=10, reserved=10)
            assert set(
                Reservation.objects.filter(variant=shirt, status=Reservation.Status.ACTIVE).values_list("holder_id", flat=True)
            ) == {cart.pk for cart in winners}
            statuses = dict(Cart.objects.filter(pk__in=[c.pk for c in carts]).values_list("pk", "status"))
            assert {statuses[c.pk] for c in winners} == {Cart.Status.CHECKOUT}
            assert {statuses[c.pk] for c, _ in losers} == {Cart.Status.ACTIVE}


def test_mixed_quantities_sell_out_to_the_last_unit_and_never_oversell(make_variant, make_cart):
    rng = random.Random(4)
    # More one-unit carts than units: some of them always lose, so the winners must have
    # taken every last unit (a loser asking 1 proves nothing was left).
    wanted = [1] * 20 + [2] * 15 + [3] * 15
    with Crew(len(wanted)) as crew:
        for on_hand in (10, 13, 19, 7, 16, 11, 19, 8):
            rng.shuffle(wanted)
            shirt = make_variant(on_hand=on_hand)
            carts = [make_cart({shirt: quantity}) for quantity in wanted]

            outcomes = crew.run([partial(checkout_services.start_checkout, cart_id=cart.pk) for cart in carts])

            _assert_no_database_failure(outcomes)
            sold = sum(quantity for quantity, outcome in zip(wanted, outcomes) if outcome.ok)
            assert sold == on_hand
            for quantity, outcome in zip(wanted, outcomes):
                if not outcome.ok:
                    (item,) = outcome.error.details["items"]
                    assert item["requested"] == quantity > item["available"] >= 0
            assert_stock_exact(shirt.pk, on_hand=on_hand, reserved=on_hand)
            for cart, quantity, outcome in zip(carts, wanted, outcomes):
                assert _reserved_by(cart) == ({shirt.pk: quantity} if outcome.ok else {})


def _in_a_transaction(call, **kwargs):
    """`call` inside an enclosing transaction: the COMMIT of its stock statement then
    waits for the end of it, so a pause after the statement holds the row. (Alone, a
    checkout's stock statement carries its COMMIT, and no pause falls between them:
    tests/inventory/test_commit_with_statement.py runs this race on that path.)"""
    with transaction.atomic():
        return call(**kwargs)


def test_second_checkout_queues_behind_the_first_and_sees_its_reservation(make_variant, make_cart):
    """Deterministic: the first checkout is stopped holding the stock lock; the second must
    wait for it (not read a stale free count) and then find the last unit gone."""
    shirt = make_variant(on_hand=1)
    first, second = make_cart({shirt: 1}), make_cart({shirt: 1})

    with pause_after("inventory.services.lock_stocks", thread_name="first") as pause:
        first_call = Background(partial(_in_a_transaction, checkout_services.start_checkout, cart_id=first.pk), name="first")
        pause.wait_reached()
        second_call = Background(partial(checkout_services.start_checkout, cart_id=second.pk), name="second")
        wait_until_blocked(second_call.backend_pid)
        pause.resume()

        first_call.result()
        with pytest.raises(InsufficientStock) as refused:
            second_call.result()

    assert refused.value.details == {"items": [{"sku": shirt.sku, "requested": 1, "available": 0}]}
    assert _reserved_by(first) == {shirt.pk: 1}
    assert _reserved_by(second) == {}
    assert_stock_exact(shirt.pk, on_hand=1, reserved=1)


def test_carts_holding_the_same_skus_in_opposite_order_never_deadlock(make_variant, make_cart):
    rng = random.Random(7)
    with Crew(2) as crew:
        for _ in range(50):
            variants = [make_variant(on_hand=2) for _ in range(5)]
            # Most rounds one SKU has a single unit, so exactly one cart can have it and
            # the other must end up with nothing at all, though its other SKUs are free.
            scarce = rng.choice([None, *variants, *variants])
            if scarce is not None:
                inventory.adjust(variant_id=scarce.pk, delta=-1, reason=StockMovement.Reason.DAMAGED)
            forward = make_cart({v: 1 for v in variants})
            backward = make_cart({v: 1 for v in reversed(variants)})

            outcomes = crew.run(
                [partial(checkout_services.start_checkout, cart_id=forward.pk), partial(checkout_services.start_checkout, cart_id=backward.pk)]
            )

            _assert_no_database_failure(outcomes)
            assert sum(o.ok for o in outcomes) == (1 if scarce else 2)
            everything = {v.pk: 1 for v in variants}
            for cart, outcome in zip((forward, backward), outcomes):
                assert _reserved_by(cart) == (everything if outcome.ok else {})
            for variant in variants:
                on_hand = 1 if variant == scarce else 2
                assert_stock_exact(variant.pk, on_hand=on_hand, reserved=sum(o.ok for o in outcomes))


def test_commit_reserve_adjust_sweep_cancel_and_extend_race_on_shared_rows(make_variant, make_cart):
    """Every writer of stock at once on the same three rows. The figures are chosen so
    each operation must succeed in any order; the end state is then exact."""
    with Crew(7) as crew:
        for _ in range(25):
            shirt, socks, hat = make_variant(on_hand=6), make_variant(on_hand=10), make_variant(on_hand=6)
            paying = make_cart({shirt: 2, socks: 1})
            expired = make_cart({socks: 2, hat: 2})
            cancelling = make_cart({shirt: 1, hat: 1})
            arriving = make_cart({hat: 2, socks: 2, shirt: 2})
            extending = make_cart({hat: 1})
            for cart in (paying, cancelling, extending):
                checkout_services.start_checkout(cart_id=cart.pk)
            checkout_services.start_checkout(cart_id=expired.pk, now=timezone.now() - timedelta(minutes=10))

            outcomes = crew.run(
                [
                    partial(inventory.commit, holder_id=paying.pk, items={shirt.pk: 2, socks.pk: 1}, order_id=None),
                    partial(checkout_services.start_checkout, cart_id=arriving.pk),
                    partial(inventory.adjust, variant_id=socks.pk, delta=-3, reason=StockMovement.Reason.DAMAGED),
                    partial(inventory.adjust, variant_id=shirt.pk, delta=4, reason=StockMovement.Reason.RECEIVED),
                    inventory.expire_reservations,
                    partial(checkout_services.cancel_checkout, cart_id=cancelling.pk),
                    partial(checkout_services.start_checkout, cart_id=extending.pk),  # in checkout: extends
                ]
            )

            assert [o.error for o in outcomes if not o.ok] == []
            assert_stock_exact(shirt.pk, on_hand=6 - 2 + 4, reserved=2)
            assert_stock_exact(socks.pk, on_hand=10 - 1 - 3, reserved=2)
            assert_stock_exact(hat.pk, on_hand=6, reserved=2 + 1)
            statuses = {
                cart: set(Reservation.objects.filter(holder_id=cart.pk).values_list("status", flat=True))
                for cart in (paying, expired, cancelling, arriving, extending)
            }
            assert statuses == {
                paying: {Reservation.Status.COMMITTED},
                expired: {Reservation.Status.EXPIRED},
                cancelling: {Reservation.Status.RELEASED},
                arriving: {Reservation.Status.ACTIVE},
                extending: {Reservation.Status.ACTIVE},
            }
            # The sweep may have found the expired units already freed by a writer that
            # touched those rows first; never more than were expired.
            assert 0 <= outcomes[4].value <= 4


def test_racing_sales_never_take_more_than_is_free(make_variant, make_cart):
    """Sales of unreserved stock (commit with no reservation) against checkouts and
    removals, on a row with little stock: outcomes vary, the books never do."""
    rng = random.Random(11)
    with Crew(6) as crew:
        for _ in range(20):
            shirt = make_variant(on_hand=5)
            holding = make_cart({shirt: 2})
            checkout_services.start_checkout(cart_id=holding.pk)
            buyers = [make_cart({shirt: rng.randint(1, 3)}) for _ in range(3)]
            wanted = [_line_quantity(cart, shirt) for cart in buyers]
            removal = rng.randint(1, 3)

            outcomes = crew.run(
                [
                    partial(inventory.commit, holder_id=buyers[0].pk, items={shirt.pk: wanted[0]}, order_id=None),
                    partial(checkout_services.start_checkout, cart_id=buyers[1].pk),
                    partial(inventory.commit, holder_id=buyers[2].pk, items={shirt.pk: wanted[2]}, order_id=None),
                    partial(inventory.adjust, variant_id=shirt.pk, delta=-removal, reason=StockMovement.Reason.DAMAGED),
                    partial(inventory.commit, holder_id=holding.pk, items={shirt.pk: 2}, order_id=None),
                    inventory.expire_reservations,
                ]
            )

            refusals = [o.error for o in outcomes if not o.ok]
            assert all(isinstance(e, (InsufficientStock, StockAdjustmentRefused)) for e in refusals), refusals
            assert outcomes[4].ok, "a fully reserved sale always goes through"
            sold = wanted[0] * outcomes[0].ok + wanted[2] * outcomes[2].ok + 2
            removed = removal * outcomes[3].ok
            reserved = wanted[1] * outcomes[1].ok
            assert_stock_exact(shirt.pk, on_hand=5 - sold - removed, reserved=reserved)
            assert 5 - sold - removed >= reserved


def _line_quantity(cart: Cart, variant) -> int:
    return cart.lines.get(variant=variant).quantity

