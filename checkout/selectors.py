"""Checkout reads: a cart with the order it became."""
from __future__ import annotations

from uuid import UUID

from cart.models import Cart
from cart.selectors import cart_with_lines


def cart_with_order(cart_id: UUID | str) -> Cart:
    """The cart with its lines (cart.selectors.cart_with_lines) and its order, if it has
    one, in the same queries: `getattr(cart, "order", None)` then costs nothing."""
    return cart_with_lines(cart_id, select_related=["order"])
