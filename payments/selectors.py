"""Payment reads."""
from __future__ import annotations

from uuid import UUID

from payments import stripe_client
from payments.models import Payment

# Intents Stripe may still charge: worth cancelling when the checkout ends.
CANCELLABLE_STATUSES = sorted(stripe_client.OPEN_STATUSES | {"processing"})


def has_cancellable_intent(cart_id: UUID | str) -> bool:
    return Payment.objects.filter(cart_id=cart_id, status__in=CANCELLABLE_STATUSES).exists()
