from datetime import timedelta

import pytest
from django.utils import timezone

from inventory import services as inventory
from inventory.models import Reservation, Stock
from inventory.selectors import available_quantities, ledger_balance
from shop.errors import InsufficientStock
from checkout import services as checkout_services


def test_checkout_reserves_every_line_and_cancel_releases(make_variant, make_cart):
    shirt, socks = make_variant(on_hand=5), make_variant(on_hand=3)
    cart = make_cart({shirt: 2, socks: 3})

    checkout_services.start_checkout(cart_id=cart.pk)

    assert available_quantities([shirt.pk, socks.pk]) == {shirt.pk: 3, socks.pk: 0}
    assert Stock.objects.get(variant=shirt).reserved == 2
    checkout_services.cancel_checkout(cart_id=cart.pk)
    assert available_quantities([shirt.pk, socks.pk]) == {shirt.pk: 5, socks.pk: 3}
    assert Stock.objects.get(variant=socks).reserved == 0


def test_reserve_is_all_or_nothing(make_variant, make_cart):
    shirt, socks = make_variant(on_hand=5), make_variant(on_hand=3)
    cart = make_cart({shirt: 2, socks: 3})
    other = make_cart({socks: 1})
    checkout_services.start_checkout(cart_id=other.pk)

    with pytest.raises(InsufficientStock) as exc:
        checkout_services.start_checkout(cart_id=cart.pk)

    assert exc.value.details == {"items": [{"sku": socks.sku, "requested": 3, "available": 2}]}
    assert Stock.objects.get(variant=shirt).reserved == 0
    assert not Reservation.objects.filter(holder_id=cart.pk).exists()


def test_commit_moves_on_hand_through_the_ledger(make_variant, make_cart):
    shirt = make_variant(on_hand=5)
    cart = make_cart({shirt: 2})
    checkout_services.start_checkout(cart_id=cart.pk)

    inventory.commit(holder_id=cart.pk, items={shirt.pk: 2}, order_id=None)

    stock = Stock.objects.get(variant=shirt)
    assert (stock.on_hand, stock.reserved) == (3, 0)
    assert ledger_balance(shirt.pk) == 3


def test_expired_reservation_does_not_block_sale_without_sweeper(make_variant, make_cart):
    shirt = make_variant(on_hand=1)
    first, second = make_cart({shirt: 1}), make_cart({shirt: 1})
    past = timezone.now() - timedelta(minutes=10)
    checkout_services.start_checkout(cart_id=first.pk, now=past)

    checkout_services.start_checkout(cart_id=second.pk)

    assert Reservation.objects.get(holder_id=first.pk).status == Reservation.Status.EXPIRED
    assert Stock.objects.get(variant=shirt).reserved == 1


def test_commit_of_more_than_reserved_needs_free_stock(make_variant, make_cart):
    shirt = make_variant(on_hand=5)
    ours, theirs = make_cart({shirt: 2}), make_cart({shirt: 3})
    checkout_services.start_checkout(cart_id=ours.pk)
    checkout_services.start_checkout(cart_id=theirs.pk)

    with pytest.raises(InsufficientStock) as exc:
        inventory.commit(holder_id=ours.pk, items={shirt.pk: 3}, order_id=None)

    assert exc.value.details["items"] == [{"sku": shirt.sku, "requested": 3, "available": 2}]
    stock = Stock.objects.get(variant=shirt)
    assert (stock.on_hand, stock.reserved) == (5, 5)
    assert Reservation.objects.get(holder_id=ours.pk).status == Reservation.Status.ACTIVE


def test_commit_of_expired_but_unswept_reservation_succeeds(make_variant, make_cart):
    shirt = make_variant(on_hand=1)
    cart = make_cart({shirt: 1})
    checkout_services.start_checkout(cart_id=cart.pk, now=timezone.now() - timedelta(minutes=10))

    inventory.commit(holder_id=cart.pk, items={shirt.pk: 1}, order_id=None)

    stock = Stock.objects.get(variant=shirt)
    assert (stock.on_hand, stock.reserved) == (0, 0)
    assert Reservation.objects.get(holder_id=cart.pk).status == Reservation.Status.COMMITTED
    assert ledger_balance(shirt.pk) == 0


def test_extend_refuses_when_any_reservation_of_the_cart_ran_out(make_variant, make_cart):
    from shop.errors import ReservationExpired

    shirt, socks = make_variant(on_hand=1), make_variant(on_hand=1)
    ours, theirs = make_cart({shirt: 1, socks: 1}), make_cart({shirt: 1})
    started = timezone.now() - timedelta(minutes=6)
    checkout_services.start_checkout(cart_id=ours.pk, now=started)
    checkout_services.start_checkout(cart_id=theirs.pk)  # takes the shirt that ran out

    with pytest.raises(ReservationExpired):
        inventory.extend(holder_id=ours.pk, expires_at=timezone.now() + timedelta(minutes=5))

    assert dict(Reservation.objects.filter(holder_id=ours.pk).values_list("variant_id", "status")) == {
        shirt.pk: "expired",
        socks.pk: "active",
    }
    assert Reservation.objects.get(holder_id=ours.pk, variant=socks).expires_at == started + timedelta(minutes=5)


def test_checkout_again_after_part_of_the_reservation_ran_out_reserves_all_or_none(make_variant, make_cart):
    shirt, socks = make_variant(on_hand=1), make_variant(on_hand=1)
    ours, theirs = make_cart({shirt: 1, socks: 1}), make_cart({shirt: 1})
    checkout_services.start_checkout(cart_id=ours.pk, now=timezone.now() - timedelta(minutes=6))
    checkout_services.start_checkout(cart_id=theirs.pk)

    with pytest.raises(InsufficientStock):
        checkout_services.start_checkout(cart_id=ours.pk)

    assert Stock.objects.get(variant=shirt).reserved == 1
    assert not Reservation.objects.filter(holder_id=ours.pk, status=Reservation.Status.ACTIVE, variant=shirt).exists()
