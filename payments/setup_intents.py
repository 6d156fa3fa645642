"""SetupIntents for the browser's payment step.

The page turns the shopper's card into a PaymentMethod with
`stripe.confirmCardSetup(client_secret, {payment_method: {card}})` (which works on both
Stripe.js and localstripe's emulation of it) and sends that PaymentMethod
to the payment API, which charges the server-computed total. A SetupIntent carries no
amount, so nothing the browser does here can change what is charged.
"""
from __future__ import annotations

import math
import secrets
from uuid import UUID

from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from cart import services as cart_services
from cart.models import Cart
from cart.selectors import parse_cart_id
from payments import stripe_client
from shop.api_base import ScopedThrottle
from shop.api_errors import error_json
from shop.errors import NotFound, PaymentProviderUnavailable

# The payment endpoint's throttle scope (checkout.api.PaymentView): one budget per client
# for every request that makes Stripe objects, so the card form cannot be used to create
# SetupIntents without limit.
THROTTLE_SCOPE = "checkout"


class _ScopedView:
    """What DRF's ScopedRateThrottle reads from a view."""

    throttle_scope = THROTTLE_SCOPE


def rate_limited_response(request: HttpRequest) -> JsonResponse | None:
    """For the (plain Django) setup-intent view: None while the client is within the
    "checkout" rate, else the API's 429 `rate_limited` with Retry-After. Counted in the
    same cache bucket as the payment endpoint (same scope, same client identity)."""
    throttle = ScopedThrottle()
    if throttle.allow_request(request, _ScopedView()):
        return None
    wait = math.ceil(throttle.wait() or 1)
    response = error_json("rate_limited", "Too many requests. Try again shortly.", 429, {"retry_after": wait})
    response["Retry-After"] = str(wait)
    return response


def create_setup_intent(*, cart_id: UUID | str) -> str:
    """A fresh SetupIntent's client secret for a cart in live checkout. A new one per
    attempt: one that failed (declined card, 3-D Secure refused) cannot be reused."""
    cart = Cart.objects.filter(pk=parse_cart_id(cart_id)).only("status", "reservation_expires_at").first()
    if cart is None:
        raise NotFound("That cart does not exist.")
    cart_services.require_live_checkout(cart, timezone.now())
    try:
        # One SetupIntent per attempt (a failed one cannot be reused): the key names the
        # cart and this attempt, so the SDK's own retries of the request make no second.
        return stripe_client.create_setup_intent(idempotency_key=f"shop-si-{cart.pk}-{secrets.token_hex(8)}").client_secret
    except stripe_client.StripeRefused:
        # A refusal of a parameter-free request means the keys or set-up are wrong;
        # to the shopper it is the same as Stripe being away.
        raise PaymentProviderUnavailable() from None

