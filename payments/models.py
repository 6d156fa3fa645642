"""Payments: Stripe PaymentIntents of checkouts, refunds, and the log of Stripe's webhooks.

Amounts are stored as Stripe sends them: integers in the currency's minor units by
Stripe's rules (currencies.money.stripe_amount), with the upper-case ISO currency code.

Lock order: shop/locks.py.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Payment(models.Model):
    """One Stripe PaymentIntent of a checkout. A checkout uses one intent at a time; an
    intent whose attempt failed is replaced by the next attempt (and cancelled), and
    stays here for the record."""

    class Status(models.TextChoices):
        """Stripe's PaymentIntent statuses."""

        REQUIRES_PAYMENT_METHOD = "requires_payment_method"
        REQUIRES_CONFIRMATION = "requires_confirmation"
        REQUIRES_ACTION = "requires_action"
        PROCESSING = "processing"
        REQUIRES_CAPTURE = "requires_capture"
        SUCCEEDED = "succeeded"
        CANCELED = "canceled"

    cart = models.ForeignKey("cart.Cart", on_delete=models.PROTECT, related_name="payments")
    attempt = models.PositiveIntegerField()
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    amount = models.BigIntegerField(help_text="Minor units, as sent to Stripe.")
    currency = models.CharField(max_length=3)
    capture_method = models.CharField(max_length=16, default="automatic")
    # Stripe's status as last seen.
    status = models.CharField(max_length=32, choices=Status.choices)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    # Refunded so far, in minor units, as Stripe last reported it (charge.refunded).
    amount_refunded = models.BigIntegerField(default=0)
    needs_attention = models.BooleanField(default=False)
    attention_reason = models.TextField(blank=True)
    # The quote this intent was last asked to charge for (payments.records.quote_of):
    # currency, rate, lines with their USD unit prices, shipping. A payment that arrives
    # after its checkout ended is judged against it (checkout.completion).
    quote = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "attempt"], name="payment_one_intent_per_cart_attempt"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [models.Index(fields=["needs_attention"], condition=Q(needs_attention=True), name="payment_needs_attention")]

    def __str__(self) -> str:
        return f"{self.stripe_payment_intent_id} ({self.status})"

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES


# What each group of PaymentIntent statuses means to the shop, in one place.
# Money secured: paid, or authorized and awaiting capture (manual capture).
PAID_STATUSES = frozenset({Payment.Status.SUCCEEDED, Payment.Status.REQUIRES_CAPTURE})
# The intent can still be changed (amount, payment method) or cancelled.
OPEN_STATUSES = frozenset(
    {Payment.Status.REQUIRES_PAYMENT_METHOD, Payment.Status.REQUIRES_CONFIRMATION, Payment.Status.REQUIRES_ACTION}
)
# The bank is still deciding (3-D Secure, processing).
PENDING_STATUSES = frozenset({Payment.Status.REQUIRES_ACTION, Payment.Status.PROCESSING})
# Stripe may still charge it: worth cancelling when its checkout ends.
CANCELLABLE_STATUSES = OPEN_STATUSES | {Payment.Status.PROCESSING}
# Stripe never moves an intent on from these; a late, stale report must not overwrite them.
FINAL_STATUSES = frozenset({Payment.Status.SUCCEEDED, Payment.Status.CANCELED})


class Refund(models.Model):
    """A refund, bounded by what was charged minus what was refunded before. Written
    `pending` before Stripe is asked (with the row id as idempotency key), so a crash
    between the two leaves a visible pending refund that a retry completes exactly once."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Reason(models.TextChoices):
        REQUESTED_BY_CUSTOMER = "requested_by_customer", "Requested by the customer"
        OUT_OF_STOCK = "out_of_stock", "Goods could not be supplied"
        AMOUNT_MISMATCH = "amount_mismatch", "Charged amount did not match the order"
        DUPLICATE = "duplicate", "Duplicate payment"
        CART_CHANGED = "cart_changed", "Paid after the checkout ended, for a cart that changed since"
        CANCELLED = "cancelled", "Order cancelled"
        OTHER = "other", "Other"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField(help_text="Minor units, as sent to Stripe.")
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    # Claimed by whoever is sending it to Stripe, so two senders never both send it.
    sent_at = models.DateTimeField(null=True, blank=True)
    send_attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} of {self.payment_id} ({self.status})"


class WebhookEvent(models.Model):
    """Every Stripe event received, stored once by its Stripe id (invariant 13)."""

    class Outcome(models.TextChoices):
        PENDING = "pending"
        PROCESSED = "processed"
        IGNORED = "ignored"
        FAILED = "failed"

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    # The object the event is about (a PaymentIntent, charge or dispute id), for search.
    object_id = models.CharField(max_length=255, blank=True, db_index=True)
    received_at = models.DateTimeField(auto_now_add=True)
    deliveries = models.PositiveIntegerField(default=1)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    result = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["outcome", "received_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id} ({self.outcome})"


class StripeCustomer(models.Model):
    """The Stripe Customer of a shop user: made when they first save a card
    (payments.customers.ensure_customer), never for a guest. Their saved cards are the
    card PaymentMethods attached to it at Stripe, read from Stripe each time (no copy
    here to drift from Stripe or to erase)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stripe_customer")
    stripe_customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.stripe_customer_id} (user {self.user_id})"
