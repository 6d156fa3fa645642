"""Refunds: bounded by what was charged minus what was refunded, written before Stripe is
asked, sent after the writing transaction commits, retried until Stripe answers.

Stripe itself (and certainly localstripe, which bounds nothing) is not trusted to refuse
a refund larger than what is left; the bound is checked here under the payment's row lock.
An automatic refund of a payment that is only authorized (manual capture) releases the
authorization instead, which is how card authorizations are given back.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from moneyed import Money

from orders import emails
from orders import services as order_services
from payments import stripe_client
from payments.amounts import from_stripe
from payments.models import PAID_STATUSES, Payment, Refund
from payments.records import cancel_key, record_intent_state, save_intent_state
from payments.stripe_client import PaymentIntentInfo
from shop import metrics
from shop.alerts import alert_staff
from shop.errors import InvalidInput, PaymentProviderUnavailable
from currencies.money import format_money, stripe_amount

log = logging.getLogger(__name__)

# A refund claimed by a sender that then vanished (a crashed process) may be sent again
# after this long; the idempotency key keeps Stripe from refunding twice.
RESEND_AFTER = timedelta(minutes=2)


class RefundRefused(InvalidInput):
    """A refund the shop will not make (nothing left to refund, too large, not paid)."""


def refunded_or_pending(payment: Payment) -> int:
    """Minor units refunded or on their way: the shop's own refunds, or what Stripe
    reports (refunds made in Stripe's dashboard), whichever is more, plus pending ones."""
    sums = payment.refunds.aggregate(
        succeeded=Sum("amount", filter=Q(status=Refund.Status.SUCCEEDED)),
        pending=Sum("amount", filter=Q(status=Refund.Status.PENDING)),
    )
    return max(sums["succeeded"] or 0, payment.amount_refunded) + (sums["pending"] or 0)


def refundable(payment: Payment) -> int:
    """Minor units that may still be refunded."""
    if not payment.is_paid:
        return 0
    return max(payment.amount - refunded_or_pending(payment), 0)


def schedule_refund(
    *, payment: Payment, amount: int, reason: str, note: str = "", order_id: int | None = None, actor_id: int | None = None
) -> Refund | None:
    """Inside the caller's transaction, holding `payment`'s row lock: write a pending
    refund of up to `amount` minor units (never more than is left) and send it to Stripe
    once the transaction commits. None when nothing is left to refund."""
    amount = min(int(amount), refundable(payment))
    if amount <= 0:
        return None
    refund = Refund.objects.create(
        payment=payment,
        order_id=order_id if order_id is not None else payment.order_id,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        note=note[:500],
        created_by_id=actor_id,
    )
    transaction.on_commit(partial(send_refund, refund.pk))
    return refund


def refund_unwanted_payment(
    *, payment: Payment, intent: PaymentIntentInfo, reason: str, attention: str, note: str | None = None
) -> bool:
    """A paid intent the shop will not keep (it paid for the wrong amount, for a cart
    that changed, for an order paid already): inside the caller's transaction, holding
    `payment`'s row lock, record its state, flag it for staff with `attention` and
    schedule a full refund (`note`, else `attention`). Once however often it is
    reported: returns True only the first time, when the caller tells people."""
    save_intent_state(payment, intent)
    if payment.needs_attention:
        return False
    payment.needs_attention = True
    payment.attention_reason = attention
    payment.save(update_fields=["needs_attention", "attention_reason", "updated_at"])
    schedule_refund(payment=payment, amount=intent.amount, reason=reason, note=attention if note is None else note)
    return True


def lock_order_payment(order_id: int) -> Payment | None:
    """The payment that paid for the order (paid or authorized), its row locked (lock
    order: shop/locks.py), or None."""
    return (
        Payment.objects.select_for_update()
        .filter(order_id=order_id, status__in=PAID_STATUSES)
        .order_by("-attempt")
        .first()
    )


def refund_remaining(*, payment: Payment, reason: str, note: str = "", actor_id: int | None = None) -> Refund | None:
    """Inside the caller's transaction, holding `payment`'s row lock: give back all that
    is not refunded yet (an authorization is released instead), sent to Stripe after
    commit with the refund's own idempotency key. None when nothing is left."""
    return schedule_refund(
        payment=payment, amount=refundable(payment), reason=reason, note=note, order_id=payment.order_id, actor_id=actor_id
    )


def schedule_order_refund(
    *, order_id: int, amount: Money | None, reason: str, note: str = "", actor_id: int | None = None
) -> Refund:
    """Inside the caller's transaction: a refund of an order, partial (amount in the
    order's currency) or full (amount None: everything left), bounded by what was charged
    minus what was refunded, under the payment's row lock (lock order: shop/locks.py).
    Written pending and sent to Stripe after commit. RefundRefused names what is wrong
    (then the caller rolls back)."""
    payment = lock_order_payment(order_id)
    if payment is None:
        raise RefundRefused("This order has no payment that can be refunded.", details={"amount": ["Nothing was charged."]})
    left = refundable(payment)
    if left <= 0:
        raise RefundRefused("This order has been refunded in full already.", details={"amount": ["Nothing left to refund."]})
    if amount is None:
        minor = left
    else:
        if amount.currency.code != payment.currency:
            raise RefundRefused(
                f"Give the amount in {payment.currency}, the order's currency.",
                details={"amount": [f"Must be in {payment.currency}."]},
            )
        minor = stripe_amount(amount)
        if minor <= 0:
            raise RefundRefused("Give an amount greater than zero.", details={"amount": ["Must be greater than zero."]})
    if minor > left:
        raise RefundRefused(
            f"At most {format_money(from_stripe(left, payment.currency))} can still be refunded.",
            details={"amount": [f"At most {from_stripe(left, payment.currency).amount} {payment.currency}."]},
        )
    if payment.status == Payment.Status.REQUIRES_CAPTURE and minor != payment.amount:
        raise RefundRefused(
            "This payment is only authorized: capture it first to refund part of it, or refund it in full to release the authorization.",
            details={"amount": ["Partial refunds need a captured payment."]},
        )
    refund = schedule_refund(payment=payment, amount=minor, reason=reason, note=note, order_id=order_id, actor_id=actor_id)
    assert refund is not None
    transaction.on_commit(partial(emails.send_refund_notice, order_id, from_stripe(refund.amount, refund.currency)))
    return refund


def refund_order(*, order_id: int, amount: Money | None, reason: str, note: str = "", actor_id: int | None = None) -> Refund:
    """A staff refund of an order by amount (schedule_order_refund), and Stripe's answer
    for staff to see. Stripe being away leaves the refund pending, sent by the retry task."""
    with transaction.atomic():
        refund = schedule_order_refund(order_id=order_id, amount=amount, reason=reason, note=note, actor_id=actor_id)
    # Usually sent already by the on_commit hook; when this ran inside an outer
    # transaction it is not yet, and staff should see Stripe's answer now.
    return send_refund(refund.pk)


def _claim(refund_id: int, now: datetime) -> bool:
    """Take the right to send this refund: pending and not being sent by someone else."""
    return bool(
        Refund.objects.filter(pk=refund_id, status=Refund.Status.PENDING)
        .filter(Q(sent_at__isnull=True) | Q(sent_at__lt=now - RESEND_AFTER))
        .update(sent_at=now, send_attempts=F("send_attempts") + 1)
    )


def send_refund(refund_id: int) -> Refund:
    """Send a pending refund to Stripe (outside any transaction) and record the answer.
    Safe to call any number of times, from any number of processes."""
    now = timezone.now()
    if not _claim(refund_id, now):
        return Refund.objects.get(pk=refund_id)
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    payment = refund.payment
    try:
        stripe_refund_id = _send(refund, payment)
    except PaymentProviderUnavailable:
        # Unclaim so the retry task sends it again soon.
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
            sent_at=None, error="Stripe was not reachable; the refund is retried automatically."
        )
        log.warning("refund %s: Stripe unreachable, left pending", refund.pk)
        metrics.REFUNDS.labels(result="pending").inc()
        return Refund.objects.get(pk=refund.pk)
    except stripe_client.StripeRefused as exc:
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(status=Refund.Status.FAILED, error=str(exc)[:2000])
        metrics.REFUNDS.labels(result="failed").inc()
        alert_staff(
            f"Refund {refund.pk} was refused by Stripe",
            f"Stripe refused the refund of {format_money(from_stripe(refund.amount, refund.currency))} for payment "
            f"{payment.stripe_payment_intent_id}: {exc}. Please look at it in the admin.",
            kind="refund_failed",
        )
        return Refund.objects.get(pk=refund.pk)
    _record_success(refund.pk, stripe_refund_id)
    metrics.REFUNDS.labels(result="succeeded").inc()
    return Refund.objects.get(pk=refund.pk)


def _send(refund: Refund, payment: Payment) -> str:
    """Ask Stripe; returns Stripe's refund id ("" when an authorization was released)."""
    if payment.status == Payment.Status.REQUIRES_CAPTURE:
        intent = stripe_client.cancel_payment_intent(payment.stripe_payment_intent_id, idempotency_key=cancel_key(payment))
        record_intent_state(intent)
        if intent.status == Payment.Status.CANCELED:
            return ""
        if not intent.is_paid:
            raise stripe_client.StripeRefused(f"The payment is {intent.status}; nothing to refund.")
        # Captured meanwhile: refund it like any charge.
    info = stripe_client.create_refund(
        payment_intent_id=payment.stripe_payment_intent_id,
        amount=refund.amount,
        idempotency_key=f"shop-refund-{refund.pk}",
        metadata={"shop_refund_id": str(refund.pk), "reason": refund.reason},
    )
    if info.status in ("failed", "canceled"):
        raise stripe_client.StripeRefused(f"Stripe reports the refund as {info.status}.")
    return info.id


def _record_success(refund_id: int, stripe_refund_id: str) -> None:
    with transaction.atomic():
        refund = Refund.objects.select_related("payment").get(pk=refund_id)
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)  # lock order: shop/locks.py
        updated = Refund.objects.filter(pk=refund_id, status=Refund.Status.PENDING).update(
            status=Refund.Status.SUCCEEDED, stripe_refund_id=stripe_refund_id, error=""
        )
        if not updated:
            return
        succeeded = payment.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(total=Sum("amount"))["total"] or 0
        payment.amount_refunded = max(payment.amount_refunded, succeeded)
        payment.save(update_fields=["amount_refunded", "updated_at"])
        if payment.order_id:
            order_services.record_refunded(
                order_id=payment.order_id,
                refunded=from_stripe(payment.amount_refunded, payment.currency),
                reason=refund.get_reason_display(),
            )
    log.info("refund %s sent (%s minor units of %s)", refund_id, refund.amount, payment.currency)


def retry_pending_refunds(*, now: datetime | None = None, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Send every pending refund no one is sending (the beat task). Returns how many were tried."""
    now = now or timezone.now()
    ids = list(
        Refund.objects.filter(status=Refund.Status.PENDING, created_at__lt=now - older_than)
        .filter(Q(sent_at__isnull=True) | Q(sent_at__lt=now - RESEND_AFTER))
        .order_by("created_at")
        .values_list("pk", flat=True)[:100]
    )
    for refund_id in ids:
        send_refund(refund_id)
    return len(ids)

