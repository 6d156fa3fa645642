"""Payment reads."""
from __future__ import annotations

from uuid import UUID

from django.conf import settings

from payments.models import CANCELLABLE_STATUSES, Payment


def has_cancellable_intent(cart_id: UUID | str) -> bool:
    return Payment.objects.filter(cart_id=cart_id, status__in=CANCELLABLE_STATUSES).exists()


def payments_are_emulated() -> bool:
    """True when the shop talks to an emulator (localstripe) rather than Stripe."""
    return bool(getattr(settings, "STRIPE_API_BASE", "")) and "api.stripe.com" not in settings.STRIPE_API_BASE


def payments_in_test_mode() -> bool:
    """Emulated, or Stripe with test keys: no real money moves."""
    key = getattr(settings, "STRIPE_PUBLISHABLE_KEY", "") or ""
    return payments_are_emulated() or not key.startswith("pk_live_")
