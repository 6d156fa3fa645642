"""The shop app's own model: the staff alert log.

Every app raises alerts through shop.alerts.alert_staff, so the record lives in the
lowest layer. It names what happened in words (subject and body) and by kind, never by a
foreign key to an app's rows: shop imports no app.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models


class StaffAlert(models.Model):
    """One alert raised for staff, kept until someone acknowledges it in the admin (the
    email may go nowhere, or to someone who is away)."""

    class Kind(models.TextChoices):
        LOW_STOCK = "low_stock", "Low stock"
        STALE_RATES = "stale_rates", "Stale exchange rates"
        UNSUPPLIABLE_ORDER = "unsuppliable_order", "Paid order that cannot ship"
        REFUND_FAILED = "refund_failed", "Refund failed"
        DISPUTE = "dispute", "Dispute or flagged order"
        STOCK_DRIFT = "stock_drift", "Stock drift"
        OTHER = "other", "Other"

    # A slug, not enforced against Kind in the database: an alert of a kind added later
    # must still be recorded rather than lost (alert_staff never raises).
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.OTHER)
    subject = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at"], name="staffalert_newest"),
            models.Index(fields=["kind", "-created_at"], name="staffalert_kind_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None
