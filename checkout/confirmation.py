"""What the confirmation step can truthfully tell the shopper (reads only).

Two questions: for an order that was paid but could not be supplied (invariant 12), how
much of the payment has come back; and for a cart still in checkout, whether a payment
is on its way, arrived, was refused and refunded, or never came, so the page
waits only while waiting makes sense.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.db.models import Sum
from moneyed import Money

from orders.models import Order
from payments.amounts import from_stripe
from payments.models import PAID_STATUSES, PENDING_STATUSES, Payment, Refund

# How long the confirmation page refreshes itself for one payment state before it stops
# and says what it knows: a webhook normally arrives within seconds.
PAYMENT_WAIT_LIMIT = timedelta(seconds=60)
PAYMENT_WAIT_REFRESH_SECONDS = 3


@dataclass(frozen=True)
class UnsuppliedOrderRefund:
    """The refund of an order paid after its reservation lapsed, when stock had run out."""

    charged: Money  # the order's total, what the card paid
    refunded: Money  # confirmed by Stripe so far
    refunding: Money  # sent or about to be sent, not yet confirmed
    refund_failed: bool  # Stripe refused it: staff must refund by hand

    @property
    def in_full(self) -> bool:
        return self.refunded.amount >= self.charged.amount


def unsupplied_order_refund(order: Order) -> UnsuppliedOrderRefund | None:
    """None unless the order is one that could not be supplied and is refunded for it."""
    refunds = Refund.objects.filter(order=order, reason=Refund.Reason.OUT_OF_STOCK)
    if not refunds.exists():
        return None
    pending = refunds.filter(status=Refund.Status.PENDING).aggregate(total=Sum("amount"))["total"] or 0
    return UnsuppliedOrderRefund(
        charged=order.total,
        refunded=order.refunded if order.refunded.currency.code == order.currency else from_stripe(0, order.currency),
        refunding=from_stripe(pending, order.currency),
        refund_failed=refunds.filter(status=Refund.Status.FAILED).exists(),
    )


class PaymentState:
    NONE = "none"  # no payment was ever asked for
    UNPAID = "unpaid"  # asked for, but nothing was paid (no card yet, declined, cancelled)
    PENDING = "pending"  # the bank is still deciding (3-D Secure, processing)
    PAID = "paid"  # paid; the order is being made
    REFUNDED = "refunded"  # paid, but refused (it did not match the cart's total) and refunded in full




@dataclass(frozen=True)
class PaymentProgress:
    state: str
    # The attempt and status this is about: when it changes, any waiting starts again.
    key: str
    charged: Money | None = None  # for REFUNDED: what the card paid and gets back

    @property
    def worth_waiting_for(self) -> bool:
        return self.state in (PaymentState.PENDING, PaymentState.PAID)


def payment_progress(*, cart_id: UUID) -> PaymentProgress:
    """The state of the latest payment attempt of a cart that has no order yet."""
    payment = Payment.objects.filter(cart_id=cart_id).order_by("-attempt").first()
    if payment is None:
        return PaymentProgress(PaymentState.NONE, "none")
    key = f"{payment.stripe_payment_intent_id}:{payment.status}"
    if payment.status in PAID_STATUSES:
        # Paid but refused (it did not match the cart's total) and given back in full.
        if payment.order_id is None and payment.refunds.exists():
            return PaymentProgress(PaymentState.REFUNDED, key, from_stripe(payment.amount, payment.currency))
        return PaymentProgress(PaymentState.PAID, key)
    if payment.status in PENDING_STATUSES:
        return PaymentProgress(PaymentState.PENDING, key)
    return PaymentProgress(PaymentState.UNPAID, key)
