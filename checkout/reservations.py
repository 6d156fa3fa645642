"""Keeping a checkout's reservation alive while the shopper is active (invariant 10)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from cart import services as cart_services
from cart.models import Cart
from discounts import services as discounts
from inventory import services as inventory


def extend_reservation(cart: Cart, *, expires_at: datetime, now: datetime) -> None:
    """Extend all of the checkout's stock reservation (or ReservationExpired) and the
    discount use its payment holds, if any, together. A use is only held for the cart's
    code (cart.services releases it when the code changes): without one, no query."""
    if cart.discount_code:
        discounts.extend_use(holder_id=cart.pk, expires_at=expires_at, now=now)
    inventory.extend(holder_id=cart.pk, expires_at=expires_at, now=now)  # last: stock locks are held to the commit


def hold_deadline(cart: Cart) -> datetime | None:
    """The latest a checkout may hold its stock: CHECKOUT_MAX_HOLD after it was started
    (None for a checkout started before the limit existed and not started since)."""
    if cart.checkout_started_at is None:
        return None
    return cart.checkout_started_at + settings.CHECKOUT_MAX_HOLD


def capped_expiry(cart: Cart, target: datetime) -> datetime:
    """`target` as an expiry of the checkout's reservation: no later than its hold
    deadline, and never earlier than the expiry it has."""
    deadline = hold_deadline(cart)
    if deadline is not None:
        target = min(target, deadline)
    return max(target, cart.reservation_expires_at) if cart.reservation_expires_at else target


def extension_due(
    cart: Cart, *, now: datetime, ttl: timedelta | None = None, extend_below: timedelta | None = None
) -> datetime | None:
    """Activity in checkout extends the reservation to `ttl` from now when less than
    `extend_below` is left, up to the checkout's hold deadline: that new expiry, or None
    when enough is left or the deadline allows no more (the shopper then starts again)."""
    ttl = ttl or settings.RESERVATION_TTL
    extend_below = extend_below if extend_below is not None else settings.RESERVATION_EXTEND_BELOW
    if cart.reservation_expires_at - now < extend_below:
        target = capped_expiry(cart, now + ttl)
        return target if target > cart.reservation_expires_at else None
    return None


def keep_reservation_alive(
    cart: Cart, *, now: datetime, ttl: timedelta | None = None, extend_below: timedelta | None = None
) -> None:
    """Activity in checkout: extend the reservation to `ttl` from now when less than
    `extend_below` is left (all of it, or ReservationExpired if any of it ran out, which
    rolls back the caller's transaction). The caller holds the cart locked; this saves it
    (its activity and new `reservation_expires_at`) and then extends, as the last
    statement of the caller's transaction: stock locks are held to the commit, so
    nothing else may run after them."""
    target = extension_due(cart, now=now, ttl=ttl, extend_below=extend_below)
    if target is not None:
        cart.reservation_expires_at = max(target, cart.reservation_expires_at)
    cart_services.touch(cart, now, ["reservation_expires_at"])
    if target is not None:
        extend_reservation(cart, expires_at=target, now=now)
