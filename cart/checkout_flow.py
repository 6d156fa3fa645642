"""The browser checkout's steps: which step a cart may open, what each step offers, and
keeping the reservation alive while the shopper moves from page to page.

The rules of checkout itself (reserving, validating contact and addresses, extending,
paying) stay in cart.services and payments; this module only orders the pages.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from moneyed import Money

from cart.models import Cart, ShippingMethod
from cart.pricing import shipping_price
from cart.services import keep_reservation_alive, lock_cart
from shop.errors import CartNotInCheckout, ReservationExpired

ADDRESS = "address"
SHIPPING = "shipping"
PAYMENT = "payment"
CONFIRMATION = "confirmation"
STEPS: tuple[str, ...] = (ADDRESS, SHIPPING, PAYMENT, CONFIRMATION)
STEP_TITLES = {
    ADDRESS: "Contact and address",
    SHIPPING: "Shipping",
    PAYMENT: "Payment",
    CONFIRMATION: "Confirmation",
}


@dataclass(frozen=True)
class ShippingOption:
    code: str
    name: str
    price: Money


def furthest_step(cart: Cart) -> str:
    """The last step the shopper may open: shipping needs contact and address, payment
    needs a shipping method too, confirmation needs a completed cart."""
    if cart.status == Cart.Status.COMPLETED:
        return CONFIRMATION
    if not (cart.email and cart.shipping_address):
        return ADDRESS
    if not cart.shipping_method:
        return SHIPPING
    return PAYMENT


def may_open(cart: Cart, step: str) -> bool:
    return STEPS.index(step) <= STEPS.index(furthest_step(cart))


def reservation_is_live(cart: Cart, now: datetime | None = None) -> bool:
    return cart.reservation_expires_at is not None and cart.reservation_expires_at > (now or timezone.now())


def resume_checkout(*, cart_id: UUID | str, now: datetime | None = None) -> Cart:
    """A checkout page was opened. The reservation must still be live; it is extended to
    RESERVATION_TTL when less than RESERVATION_EXTEND_BELOW is left (DESIGN.md invariant 10)."""
    with transaction.atomic():
        cart = lock_cart(cart_id)
        now = now or timezone.now()  # read after the lock wait, which may cross the expiry
        if cart.status != Cart.Status.CHECKOUT:
            raise CartNotInCheckout()
        if not reservation_is_live(cart, now):
            raise ReservationExpired()
        keep_reservation_alive(cart, now=now)
        cart.last_activity_at = now
        cart.save(update_fields=["reservation_expires_at", "last_activity_at", "updated_at"])
    return cart


def shipping_options(cart: Cart) -> list[ShippingOption]:
    """Active shipping methods priced in the cart's currency at its fixed rate."""
    return [
        ShippingOption(method.code, method.name, shipping_price(method, cart))
        for method in ShippingMethod.objects.filter(is_active=True)
    ]


def payments_are_emulated() -> bool:
    """True when the shop talks to an emulator (localstripe) rather than Stripe."""
    return bool(getattr(settings, "STRIPE_API_BASE", "")) and "api.stripe.com" not in settings.STRIPE_API_BASE


def payments_in_test_mode() -> bool:
    """Emulated, or Stripe with test keys: no real money moves."""
    key = getattr(settings, "STRIPE_PUBLISHABLE_KEY", "") or ""
    return payments_are_emulated() or not key.startswith("pk_live_")
