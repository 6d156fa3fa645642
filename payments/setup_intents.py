"""SetupIntents for the browser's payment step.

The page turns the shopper's card into a PaymentMethod with
`stripe.confirmCardSetup(client_secret, {payment_method: {card}})` (which works on both
Stripe.js and localstripe's emulation of it, see STRIPE.md) and sends that PaymentMethod
to the payment API, which charges the server-computed total. A SetupIntent carries no
amount, so nothing the browser does here can change what is charged.
"""
from __future__ import annotations

from uuid import UUID

from django.utils import timezone

from cart.models import Cart
from cart.selectors import parse_cart_id
from payments import stripe_client
from shop.errors import CartNotInCheckout, NotFound, PaymentProviderUnavailable, ReservationExpired


def create_setup_intent(*, cart_id: UUID | str) -> str:
    """A fresh SetupIntent's client secret for a cart in live checkout. A new one per
    attempt: one that failed (declined card, 3-D Secure refused) cannot be reused."""
    cart = Cart.objects.filter(pk=parse_cart_id(cart_id)).only("status", "reservation_expires_at").first()
    if cart is None:
        raise NotFound("That cart does not exist.")
    if cart.status != Cart.Status.CHECKOUT:
        raise CartNotInCheckout()
    if cart.reservation_expires_at is None or cart.reservation_expires_at <= timezone.now():
        raise ReservationExpired()
    try:
        return stripe_client.create_setup_intent().client_secret
    except stripe_client.StripeRefused:
        # A refusal of a parameter-free request means the keys or set-up are wrong;
        # to the shopper it is the same as Stripe being away.
        raise PaymentProviderUnavailable() from None

