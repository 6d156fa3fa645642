"""A checkout's life before payment: start, update, resume, cancel, abandon.

Each function is one transaction that locks the cart first, then (through inventory)
the stock rows, as shop/locks.py orders them; the cart's own rows are written by
cart.services and the stock by inventory.services. The stock statement (reserve,
extend or release: one statement each) is the last of its transaction: stock locks are
held to the commit, so nothing else runs while a hot SKU's row is locked. Ending a
checkout (cancel, abandon) first waits for and holds the cart's payment lock
(payments.services), so no card is charged while it ends, and afterwards has the open
PaymentIntent cancelled (checkout.payment).
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cart import services as cart_services
from cart.models import Cart
from cart.selectors import parse_cart_id, reservation_is_live
from checkout import payment
from checkout.reservations import capped_expiry, extend_reservation, extension_due
from inventory import services as inventory
from payments.services import hold_payment_lock_until_commit
from shop import metrics
from shop.errors import CartNotActive, InvalidInput, PaymentInProgress, ReservationExpired
from shop.ratelimits import message_for_checkout_starts, refuse_over_limit

log = logging.getLogger(__name__)

UNSET = cart_services.UNSET


def start_checkout(*, cart_id: UUID | str, client: str | None = None, now: datetime | None = None) -> Cart:
    """Reserve every line for RESERVATION_TTL, all or none, and fix the cart's quote
    (rate and USD prices). The cart must keep to the hold limits (CART_MAX_QUANTITY_PER_SKU,
    CART_MAX_UNITS: 400 naming `lines`).

    Called again while in checkout it extends a live reservation (never past the
    checkout's hold deadline, CHECKOUT_MAX_HOLD after it started), or reserves again, all
    or none, when any of it ran out. Each new hold counts against `client`'s
    CHECKOUT_START_RATE_LIMIT (shop.client_ip; None: not counted): over it, RateLimited
    (429) and nothing changes.
    """
    with transaction.atomic():
        cart = cart_services.lock_cart(cart_id, with_lines=True)  # what to reserve and quote, in the lock's round trip
        now = now or timezone.now()  # read after the lock wait, which may cross an expiry
        expires_at = now + settings.RESERVATION_TTL
        if cart.status not in (Cart.Status.ACTIVE, Cart.Status.CHECKOUT):
            raise CartNotActive()
        items = cart_services.items_to_reserve(cart)
        if not items:
            raise InvalidInput("Your cart is empty.", details={"lines": ["Add an item before checking out."]})
        cart_services.check_hold_limits(items)
        if cart.status == Cart.Status.CHECKOUT and reservation_is_live(cart, now):
            target = capped_expiry(cart, expires_at)  # no further than the hold deadline
            cart.reservation_expires_at = target
            cart_services.touch(cart, now, ["reservation_expires_at"])  # before the stock statement
            try:
                extend_reservation(cart, expires_at=target, now=now)
            except ReservationExpired:
                pass  # part of it ran out and may be someone else's: reserve again below
            else:
                return cart
        if client is not None:
            refuse_over_limit(
                "checkout-start", client, settings.CHECKOUT_START_RATE_LIMIT, message=message_for_checkout_starts()
            )
        # The cart is written before the stock rows are locked: those locks are held to
        # the commit, so nothing else should run after them.
        cart_services.enter_checkout(cart, expires_at=expires_at, now=now)
        inventory.reserve(holder_id=cart.pk, items=items, expires_at=expires_at, now=now, ends_transaction=True)
    metrics.CHECKOUT_STARTS.inc()
    return cart


def update_checkout(
    *,
    cart_id: UUID | str,
    email: Any = UNSET,
    shipping_address: Any = UNSET,
    billing_address: Any = UNSET,
    shipping_method: Any = UNSET,
    discount_code: Any = UNSET,
    now: datetime | None = None,
) -> Cart:
    """Contact, addresses, shipping method and discount code for a cart in checkout.

    The cart must exist (404) and be in checkout with a live reservation (409); then
    every field is checked before anything is written, so a bad one changes nothing
    (400 naming each bad field). Activity extends a reservation that is running out.
    """
    with transaction.atomic():
        cart = cart_services.lock_cart(cart_id)
        now = now or timezone.now()  # read after the lock wait, which may cross the expiry
        cart_services.require_live_checkout(cart, now)
        changes = cart_services.clean_checkout_fields(
            cart,
            email=email,
            shipping_address=shipping_address,
            billing_address=billing_address,
            shipping_method=shipping_method,
            discount_code=discount_code,
        )
        extend_to = _extension_due(cart, now)
        cart_services.apply_checkout_fields(cart, changes, now=now)
        _extend_last(cart, extend_to, now)
    return cart


def set_discount_code(*, cart_id: UUID | str, code: Any, now: datetime | None = None) -> Cart:
    """Apply (or with "" remove) the cart's discount code, while it is active or in a
    live checkout (which this activity keeps alive). DiscountNotApplicable, with its
    reason, when the code does not apply; nothing changes then."""
    with transaction.atomic():
        cart = cart_services.lock_cart(cart_id)
        now = now or timezone.now()
        if cart.status == Cart.Status.CHECKOUT:
            return update_checkout(cart_id=cart.pk, discount_code=code, now=now)
        if cart.status != Cart.Status.ACTIVE:
            raise CartNotActive()
        cart_services.apply_discount_code(cart, code, now=now)
        cart_services.touch(cart, now, ["discount_code"])
    return cart


def update_cart(*, cart_id: UUID | str, currency: Any = UNSET, discount_code: Any = UNSET) -> None:
    """The cart's own settings (PATCH of the cart): its currency (while active) and its
    discount code, all or nothing: a code that does not apply leaves the currency too."""
    with transaction.atomic():
        if currency is not UNSET:
            cart_services.set_currency(cart_id=cart_id, currency=currency)
        if discount_code is not UNSET:
            set_discount_code(cart_id=cart_id, code=discount_code)
        if currency is UNSET and discount_code is UNSET:
            cart_services.lock_cart(cart_id)  # NotFound for an unknown cart


def resume_checkout(*, cart_id: UUID | str, now: datetime | None = None) -> Cart:
    """A checkout page was opened. The reservation must still be live; it is extended to
    RESERVATION_TTL when less than RESERVATION_EXTEND_BELOW is left (invariant 10)."""
    with transaction.atomic():
        cart = cart_services.lock_cart(cart_id)
        now = now or timezone.now()  # read after the lock wait, which may cross the expiry
        cart_services.require_live_checkout(cart, now)
        extend_to = _extension_due(cart, now)
        cart_services.touch(cart, now, ["reservation_expires_at"])
        _extend_last(cart, extend_to, now)
    return cart


def _extension_due(cart: Cart, now: datetime) -> datetime | None:
    """Activity in checkout (invariant 10): the expiry the reservation is to be extended
    to, if it is running out, set on the cart for the caller to save; None otherwise."""
    target = extension_due(cart, now=now)
    if target is not None:
        cart.reservation_expires_at = max(target, cart.reservation_expires_at)
    return target


def _extend_last(cart: Cart, target: datetime | None, now: datetime) -> None:
    """Extend the reservation (all of it, or ReservationExpired, which rolls back what the
    caller wrote): after the cart is written, as stock locks are held to the commit."""
    if target is not None:
        extend_reservation(cart, expires_at=target, now=now)


def cancel_checkout(*, cart_id: UUID | str, now: datetime | None = None) -> Cart:
    """Back to `active`: reservations released, the rate unfixed. Waits for a payment of
    the cart being confirmed right now (PaymentInProgress, 429, if it takes too long),
    and has the open PaymentIntent cancelled once this commits."""
    cart_uuid = parse_cart_id(cart_id)
    with transaction.atomic():
        hold_payment_lock_until_commit(cart_id=cart_uuid)
        cart = cart_services.lock_cart(cart_uuid, with_lines=True)  # for the response, in the lock's round trip
        now = now or timezone.now()
        cart_services.leave_checkout(cart, now=now)
        payment.cancel_open_intents_after_commit(cart)
        inventory.release(holder_id=cart.pk, now=now, ends_transaction=True)  # last: its COMMIT goes with it
    return cart


def abandon_idle_carts(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Carts untouched for CART_ABANDON_AFTER become `abandoned`, their stock released."""
    now = now or timezone.now()
    cutoff = now - settings.CART_ABANDON_AFTER
    abandoned = 0
    paying: set[UUID] = set()  # a payment is being confirmed: left for the next sweep
    while True:
        ids = cart_services.idle_open_cart_ids(cutoff=cutoff, excluding=paying, limit=batch_size)
        if not ids:
            return abandoned
        for cart_id in ids:
            with transaction.atomic():
                try:
                    hold_payment_lock_until_commit(cart_id=cart_id)
                except PaymentInProgress:
                    paying.add(cart_id)
                    continue
                cart = cart_services.lock_cart(cart_id)
                # Re-checked under the lock: the shopper may have come back meanwhile.
                if cart.status not in (Cart.Status.ACTIVE, Cart.Status.CHECKOUT) or cart.last_activity_at >= cutoff:
                    continue
                if cart.status == Cart.Status.CHECKOUT:
                    payment.cancel_open_intents_after_commit(cart)
                cart_services.abandon(cart)
                inventory.release(holder_id=cart.pk, now=now, ends_transaction=True)  # last: its COMMIT goes with it
                abandoned += 1
