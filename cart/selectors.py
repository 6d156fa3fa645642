"""Cart reads."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from django.db.models import Prefetch
from django.utils import timezone

from cart.models import Cart, CartLine
from shop.errors import NotFound


def reservation_is_live(cart: Cart, now: datetime | None = None) -> bool:
    """Whether the cart's reservation still holds its stock (it has one and it has not
    run out). With the cart in checkout, this is "in a live checkout"
    (cart.services.require_live_checkout)."""
    return cart.reservation_expires_at is not None and cart.reservation_expires_at > (now or timezone.now())


def parse_cart_id(value: UUID | str) -> UUID:
    """A cart id from a URL; anything that is not a UUID is simply not found."""
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        raise NotFound("That cart does not exist.") from None


def cart_with_lines(cart_id: UUID | str, *, select_related: Sequence[str] = ()) -> Cart:
    """A cart with its lines, variants and products in two queries (with whatever
    `select_related` names joined in the first: apps above may join their own rows)."""
    try:
        return (
            Cart.objects.select_related(*select_related)
            .prefetch_related(
                Prefetch("lines", queryset=CartLine.objects.select_related("variant__product").order_by("created_at", "id"))
            )
            .get(pk=parse_cart_id(cart_id))
        )
    except Cart.DoesNotExist:
        raise NotFound("That cart does not exist.") from None
