"""Cart reads."""
from __future__ import annotations

from uuid import UUID

from django.db.models import Prefetch

from cart.models import Cart, CartLine
from shop.errors import NotFound


def parse_cart_id(value: UUID | str) -> UUID:
    """A cart id from a URL; anything that is not a UUID is simply not found."""
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound("That cart does not exist.") from None


def cart_with_lines(cart_id: UUID | str) -> Cart:
    """A cart with its lines, variants and products in two queries (plus the order)."""
    try:
        return (
            Cart.objects.select_related("order")
            .prefetch_related(
                Prefetch("lines", queryset=CartLine.objects.select_related("variant__product").order_by("created_at", "id"))
            )
            .get(pk=parse_cart_id(cart_id))
        )
    except Cart.DoesNotExist:
        raise NotFound("That cart does not exist.") from None
