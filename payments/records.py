"""The shop's record of PaymentIntents (payments.Payment), kept in step with what Stripe
says. Database only: no Stripe calls here."""
from __future__ import annotations

from typing import Any

from django.db.models import Max, Q
from django.utils.translation import get_language

from cart.models import Cart
from cart.pricing import CartTotals
from payments.models import FINAL_STATUSES, Payment
from payments.stripe_client import PaymentIntentInfo


def _state_fields(intent: PaymentIntentInfo) -> dict[str, object]:
    fields: dict[str, object] = {"status": intent.status, "amount": intent.amount, "currency": intent.currency}
    if intent.charge_id:
        fields["stripe_charge_id"] = intent.charge_id
    if intent.error_code:
        fields["error_code"] = intent.error_code[:64]
        fields["error_message"] = (intent.error_message or "")[:500]
    return fields


def cancel_key(payment: Payment) -> str:
    """The idempotency key of cancelling a payment's intent, whoever does it (a new
    attempt replacing it, an ended checkout, a released authorization): one operation."""
    return f"shop-pi-cancel-{payment.pk}"


def lock_payment_for_intent(*, cart: Cart, intent: PaymentIntentInfo) -> Payment:
    """The locked Payment row of this intent, created if the shop has no record of it
    (an intent whose recording was lost). The caller holds the cart's row lock (lock
    order: shop/locks.py, cart before payment)."""
    payment = Payment.objects.select_for_update().filter(stripe_payment_intent_id=intent.id).first()
    if payment is None:
        payment = record_new_intent(cart=cart, intent=intent)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
    return payment


def record_new_intent(*, cart: Cart, intent: PaymentIntentInfo) -> Payment:
    """Record an intent of this cart (idempotent by intent id). The caller holds the
    cart's row lock, so the attempt number is the next free one."""
    existing = Payment.objects.filter(stripe_payment_intent_id=intent.id).first()
    if existing is not None:
        return existing
    last = Payment.objects.filter(cart=cart).aggregate(last=Max("attempt"))["last"] or 0
    return Payment.objects.create(
        cart=cart,
        attempt=last + 1,
        stripe_payment_intent_id=intent.id,
        capture_method=intent.capture_method,
        **_state_fields(intent),
    )


def record_intent_state(intent: PaymentIntentInfo) -> int:
    """Store what Stripe said about an intent; a final status is never overwritten by a
    stale one. Returns the number of rows changed (0 for an unknown intent)."""
    fields = _state_fields(intent)
    if intent.status in FINAL_STATUSES:
        return Payment.objects.filter(stripe_payment_intent_id=intent.id).exclude(
            Q(status__in=FINAL_STATUSES) & ~Q(status=intent.status)
        ).update(**fields)
    return Payment.objects.filter(stripe_payment_intent_id=intent.id).exclude(status__in=FINAL_STATUSES).update(**fields)


def save_intent_state(payment: Payment, intent: PaymentIntentInfo, *, order_id: int | None = None) -> None:
    """As record_intent_state, for a Payment row the caller holds locked; with
    `order_id`, the order this payment paid for is recorded too."""
    if order_id is not None:
        payment.order_id = order_id
    if payment.status in FINAL_STATUSES and payment.status != intent.status:
        if order_id is not None:
            payment.save(update_fields=["order", "updated_at"])
        return
    for name, value in _state_fields(intent).items():
        setattr(payment, name, value)
    payment.save()


def quote_of(cart: Cart, totals: CartTotals) -> dict[str, Any]:
    """What an intent is asked to charge for: the cart's quote (invariant 7),
    enough to tell later whether the cart still holds the same things and to price it
    again exactly as it was paid."""
    return {
        "currency": totals.currency,
        "rate": str(totals.rate),
        "lines": [
            {"variant_id": priced.line.variant_id, "quantity": priced.line.quantity, "unit_price_usd": str(priced.unit_price_usd.amount)}
            for priced in totals.lines
        ],
        "shipping_method": cart.shipping_method,
        "shipping_usd": None if cart.quoted_shipping_usd is None else str(cart.quoted_shipping_usd),
        "free_over_usd": None if cart.quoted_free_over_usd is None else str(cart.quoted_free_over_usd),
        "discount_code": cart.discount_code,
        "country": (cart.shipping_address or {}).get("country"),
        # The parts, in the order they are worked out (cart.pricing), for the record.
        "subtotal": str(totals.subtotal.amount),
        "discount": str(totals.discount.amount),
        "shipping": str(totals.shipping.amount),
        "tax": str(totals.tax.amount),
        "tax_lines": [{"name": t.name, "rate": str(t.rate), "amount": str(t.amount.amount)} for t in totals.tax_lines],
        "prices_include_tax": totals.prices_include_tax,
        "total": str(totals.total.amount),
        # The shopper's page language when they asked to pay: the order and its emails use
        # it, even when a webhook (no shopper request) completes the checkout.
        "language": get_language(),
    }


def save_quote(payment: Payment, quote: dict[str, Any]) -> None:
    """The quote the payment's intent now charges for (its amount was set from it)."""
    Payment.objects.filter(pk=payment.pk).update(quote=quote)
    payment.quote = quote
