"""The browser checkout's steps: which step a cart may open and what each step offers.

The rules of checkout itself (reserving, validating contact and addresses, extending,
paying) are checkout.services and checkout.payment; this module only orders the pages.
"""
from __future__ import annotations

from django.utils.translation import gettext_lazy

from cart import pricing
from cart.models import Cart
from cart.pricing import ShippingOption

ADDRESS = "address"
SHIPPING = "shipping"
PAYMENT = "payment"
CONFIRMATION = "confirmation"
STEPS: tuple[str, ...] = (ADDRESS, SHIPPING, PAYMENT, CONFIRMATION)
STEP_TITLES = {
    ADDRESS: gettext_lazy("Contact and address"),
    SHIPPING: gettext_lazy("Shipping"),
    PAYMENT: gettext_lazy("Payment"),
    CONFIRMATION: gettext_lazy("Confirmation"),
}


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


def shipping_options(cart: Cart) -> list[ShippingOption]:
    """The methods the zone of the cart's address offers its parcel, priced for it."""
    return pricing.shipping_options(cart)
