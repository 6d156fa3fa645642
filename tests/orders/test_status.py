"""The order's status machine: every change is an event (from, to, who, why); a change
the machine does not allow is refused with a sentence and changes nothing."""
from __future__ import annotations

import pytest

from orders import services as order_services
from orders.models import Order
from orders.status import TRANSITIONS
from shop.errors import TransitionRefused


@pytest.fixture
def order(shop_world):
    order = shop_world["order"]
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    return Order.objects.get(pk=order.pk)


def test_each_change_is_recorded_with_who_and_why(order, admin_user):
    order_services.change_status(order_id=order.pk, to="processing", actor_id=admin_user.pk, note="packing")
    order_services.change_status(order_id=order.pk, to="shipped", actor_id=admin_user.pk)
    order_services.change_status(order_id=order.pk, to="delivered")

    assert list(order.events.values_list("from_status", "to_status", "actor_id", "note")) == [
        ("paid", "processing", admin_user.pk, "packing"),
        ("processing", "shipped", admin_user.pk, ""),
        ("shipped", "delivered", None, ""),
    ]
    assert Order.objects.get(pk=order.pk).status == "delivered"


@pytest.mark.parametrize(
    ("start", "to", "sentence"),
    [
        ("delivered", "processing", "has been delivered, so it cannot become processing"),
        ("cancelled", "paid", "is cancelled, so it cannot become paid"),
        ("shipped", "cancelled", "has been shipped, so it cannot become cancelled"),
        ("paid", "paid", "is paid already"),
    ],
)
def test_a_change_the_machine_does_not_allow_is_refused_with_a_sentence(order, start, to, sentence):
    Order.objects.filter(pk=order.pk).update(status=start)

    with pytest.raises(TransitionRefused) as refused:
        order_services.change_status(order_id=order.pk, to=to)

    assert refused.value.message == f"Order {order.number} {sentence}."
    assert Order.objects.get(pk=order.pk).status == start and not order.events.exists()


def test_any_order_can_be_flagged_for_staff_and_staff_move_it_on(order):
    order_services.flag_order(order_id=order.pk, reason="Dispute dp_1 opened")
    order_services.change_status(order_id=order.pk, to="processing", note="dispute won")

    assert list(order.events.values_list("to_status", flat=True)) == ["needs_attention", "processing"]
    assert "Dispute dp_1 opened" in Order.objects.get(pk=order.pk).staff_note


def test_every_status_has_its_transitions_written_down():
    assert set(TRANSITIONS) == set(Order.Status.values)
