"""A paid order to work on after payment (shipping, returns, cancellation): 2 lamps at
40.00 and 3 bulbs at 5.00, paid through localstripe, emails cleared. Registered for the
whole suite in tests/conftest.py (`pytest_plugins`)."""
from __future__ import annotations

import pytest
from django.core import mail

from orders.models import Order


@pytest.fixture
def lamp(make_variant):
    return make_variant("LAMP-1", price="40.00", on_hand=5)


@pytest.fixture
def bulb(make_variant):
    return make_variant("BULB-1", price="5.00", on_hand=20)


@pytest.fixture
def paid(api, stripe_emulator, ready_cart, lamp, bulb) -> Order:
    """A paid order of 2 lamps and 3 bulbs: 95.00 USD."""
    cart = ready_cart({lamp: 2, bulb: 3})
    response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()})
    assert response.status_code == 200, response.content
    mail.outbox.clear()
    return Order.objects.get(cart=cart)


def line_ids(order: Order) -> dict[str, int]:
    """SKU -> the order line's id."""
    return {line.sku: line.pk for line in order.lines.all()}


__all__ = ["lamp", "bulb", "paid", "line_ids"]
