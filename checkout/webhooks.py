"""The webhook-to-order path: Stripe's events that report a paid PaymentIntent complete
the checkout it paid for. Registered with payments' webhook intake at start-up; the
intake stores, locks and retries the events (payments.webhooks)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cart.models import Cart
from cart.selectors import parse_cart_id
from checkout.completion import complete_checkout
from payments import records, stripe_client, webhooks
from payments.webhooks import Handled
from shop.errors import NotFound


def _cart_exists(cart_id: str | None) -> bool:
    if not cart_id:
        return False
    try:
        return Cart.objects.filter(pk=parse_cart_id(cart_id)).exists()
    except NotFound:
        return False


def on_payment_intent_paid(obj: Mapping[str, Any]) -> Handled:
    """payment_intent.succeeded, and .amount_capturable_updated for manual capture."""
    intent = stripe_client.intent_from(obj)
    if not intent.is_paid:
        records.record_intent_state(intent)
        return Handled(f"intent is {intent.status}; nothing to complete", ignored=True)
    if not _cart_exists(intent.cart_id):
        return Handled(f"no cart {intent.cart_id!r} in this shop", ignored=True)
    outcome = complete_checkout(cart_id=intent.cart_id, payment_intent=intent)
    if outcome.order is None:
        return Handled(f"no order: {outcome.problem}")
    verb = "created" if outcome.created else "already existed"
    return Handled(f"order {outcome.order.number} {verb}" + (f" ({outcome.problem})" if outcome.problem else ""))


def register() -> None:
    """Called from CheckoutConfig.ready."""
    for event_type in webhooks.PAID_INTENT_EVENTS:
        webhooks.register_handler(event_type, on_payment_intent_paid)
