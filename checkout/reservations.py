"""Keeping a checkout's reservation alive while the shopper is active (invariant 10)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from cart.models import Cart
from discounts import services as discounts
from inventory import services as inventory


def extend_reservation(cart: Cart, *, expires_at: datetime, now: datetime) -> None:
    """Extend all of the checkout's stock reservation (or ReservationExpired) and the
    discount use its payment holds, if any, together."""
    discounts.extend_use(holder_id=cart.pk, expires_at=expires_at, now=now)
    inventory.extend(holder_id=cart.pk, expires_at=expires_at, now=now)  # last: stock locks are held to the commit


def extension_due(
    cart: Cart, *, now: datetime, ttl: timedelta | None = None, extend_below: timedelta | None = None
) -> datetime | None:
    """Activity in checkout extends the reservation to `ttl` from now when less than
    `extend_below` is left: that new expiry, or None when enough is left."""
    ttl = ttl or settings.RESERVATION_TTL
    extend_below = extend_below if extend_below is not None else settings.RESERVATION_EXTEND_BELOW
    if cart.reservation_expires_at - now < extend_below:
        return now + ttl
    return None


def keep_reservation_alive(
    cart: Cart, *, now: datetime, ttl: timedelta | None = None, extend_below: timedelta | None = None
) -> None:
    """Activity in checkout: extend the reservation to `ttl` from now when less than
    `extend_below` is left (all of it, or ReservationExpired if any of it ran out). The
    caller holds the cart locked and saves its new `reservation_expires_at`.

    The stock statement holds its rows to the commit: a caller that writes more after
    this keeps the hot rows locked meanwhile. checkout.services writes the cart first and
    extends last (extension_due, then extend_reservation)."""
    target = extension_due(cart, now=now, ttl=ttl, extend_below=extend_below)
    if target is not None:
        extend_reservation(cart, expires_at=target, now=now)
        cart.reservation_expires_at = max(target, cart.reservation_expires_at)
