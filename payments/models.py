"""Payments: Stripe PaymentIntents of checkouts, refunds, and the log of Stripe's webhooks.

Amounts are stored as Stripe sends them: integers in the currency's minor units by
Stripe's rules (currencies.money.stripe_amount), with the upper-case ISO currency code.

Lock order: shop/locks.py.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy as _


class Payment(models.Model):
    """One Stripe PaymentIntent of a checkout. A checkout uses one intent at a time; an
    intent whose attempt failed is replaced by the next attempt (and cancelled), and
    stays here for the record."""

    class Status(models.TextChoices):
        """Stripe's PaymentIntent statuses."""

        REQUIRES_PAYMENT_METHOD = "requires_payment_method", _("Requires Payment Method")
        REQUIRES_CONFIRMATION = "requires_confirmation", _("Requires Confirmation")
        REQUIRES_ACTION = "requires_action", _("Requires Action")
        PROCESSING = "processing", _("Processing")
        REQUIRES_CAPTURE = "requires_capture", _("Requires Capture")
        SUCCEEDED = "succeeded", _("Succeeded")
        CANCELED = "canceled", _("Canceled")

    cart = models.ForeignKey("cart.Cart", on_delete=models.PROTECT, related_name="payments", verbose_name=_("cart"))
    attempt = models.PositiveIntegerField(verbose_name=_("attempt"))
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="payments", verbose_name=_("order"))
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, verbose_name=_("stripe payment intent id"))
    stripe_charge_id = models.CharField(max_length=255, blank=True, db_index=True, verbose_name=_("stripe charge id"))
    amount = models.BigIntegerField(help_text=_("Minor units, as sent to Stripe."), verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    capture_method = models.CharField(max_length=16, default="automatic", verbose_name=_("capture method"))
    # Stripe's status as last seen.
    status = models.CharField(max_length=32, choices=Status.choices, verbose_name=_("status"))
    error_code = models.CharField(max_length=64, blank=True, verbose_name=_("error code"))
    error_message = models.CharField(max_length=500, blank=True, verbose_name=_("error message"))
    # Refunded so far, in minor units, as Stripe last reported it (charge.refunded).
    amount_refunded = models.BigIntegerField(default=0, verbose_name=_("amount refunded"))
    needs_attention = models.BooleanField(default=False, verbose_name=_("needs attention"))
    attention_reason = models.TextField(blank=True, verbose_name=_("attention reason"))
    # The quote this intent was last asked to charge for (payments.records.quote_of):
    # currency, rate, lines with their USD unit prices, shipping. A payment that arrives
    # after its checkout ended is judged against it (checkout.completion).
    quote = models.JSONField(null=True, blank=True, verbose_name=_("quote"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "attempt"], name="payment_one_intent_per_cart_attempt"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [models.Index(fields=["needs_attention"], condition=Q(needs_attention=True), name="payment_needs_attention")]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.stripe_payment_intent_id} ({self.get_status_display().lower()})"

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
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Reason(models.TextChoices):
        REQUESTED_BY_CUSTOMER = "requested_by_customer", _("Requested by the customer")
        OUT_OF_STOCK = "out_of_stock", _("Goods could not be supplied")
        AMOUNT_MISMATCH = "amount_mismatch", _("Charged amount did not match the order")
        DUPLICATE = "duplicate", _("Duplicate payment")
        CART_CHANGED = "cart_changed", _("Paid after the checkout ended, for a cart that changed since")
        CANCELLED = "cancelled", _("Order cancelled")
        OTHER = "other", _("Other")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("payment"))
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order"))
    amount = models.BigIntegerField(help_text=_("Minor units, as sent to Stripe."), verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    reason = models.CharField(max_length=32, choices=Reason.choices, verbose_name=_("reason"))
    note = models.CharField(max_length=500, blank=True, verbose_name=_("note"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    stripe_refund_id = models.CharField(max_length=255, blank=True, verbose_name=_("stripe refund id"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    # Claimed by whoever is sending it to Stripe, so two senders never both send it.
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    send_attempts = models.PositiveIntegerField(default=0, verbose_name=_("send attempts"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self) -> str:
        return gettext("Refund %(amount)s %(currency)s of %(payment)s (%(status)s)") % {
            "amount": self.amount, "currency": self.currency, "payment": self.payment_id, "status": self.get_status_display().lower(),
        }


class WebhookEvent(models.Model):
    """Every Stripe event received, stored once by its Stripe id (invariant 13)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    stripe_event_id = models.CharField(max_length=255, unique=True, verbose_name=_("stripe event id"))
    type = models.CharField(max_length=100, verbose_name=_("type"))
    payload = models.JSONField(verbose_name=_("payload"))
    # The object the event is about (a PaymentIntent, charge or dispute id), for search.
    object_id = models.CharField(max_length=255, blank=True, db_index=True, verbose_name=_("object id"))
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))
    deliveries = models.PositiveIntegerField(default=1, verbose_name=_("deliveries"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING, verbose_name=_("outcome"))
    result = models.CharField(max_length=500, blank=True, verbose_name=_("result"))
    error = models.TextField(blank=True, verbose_name=_("error"))

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["outcome", "received_at"])]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id} ({self.get_outcome_display().lower()})"


class StripeCustomer(models.Model):
    """The Stripe Customer of a shop user: made when they first save a card
    (payments.customers.ensure_customer), never for a guest. Their saved cards are the
    card PaymentMethods attached to it at Stripe, read from Stripe each time (no copy
    here to drift from Stripe or to erase)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stripe_customer", verbose_name=_("user"))
    stripe_customer_id = models.CharField(max_length=255, unique=True, verbose_name=_("stripe customer id"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("stripe customer")
        verbose_name_plural = _("stripe customers")

    def __str__(self) -> str:
        return gettext("%(customer)s (user %(user)s)") % {"customer": self.stripe_customer_id, "user": self.user_id}
