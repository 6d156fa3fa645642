"""System checks of payments: a paid PaymentIntent must have somewhere to go."""
from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from payments.webhooks import HANDLERS, PAID_INTENT_EVENTS


@register("payments")
def check_paid_intent_handlers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """payments.E001: without a handler for paid intents (registered by the checkout app
    at start-up), their webhooks would be stored as ignored and no order made."""
    missing = [event for event in PAID_INTENT_EVENTS if event not in HANDLERS]
    if not missing:
        return []
    return [
        Error(
            f"No handler for the webhook events {', '.join(missing)}: paid payments would make no order.",
            hint="Add 'checkout' to INSTALLED_APPS; it registers them (checkout.webhooks).",
            id="payments.E001",
        )
    ]
