"""The shop app's own model: the staff alert log.

Every app raises alerts through shop.alerts.alert_staff, so the record lives in the
lowest layer. It names what happened in words (subject and body) and by kind, never by a
foreign key to an app's rows: shop imports no app.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffAlert(models.Model):
    """One alert raised for staff, kept until someone acknowledges it in the admin (the
    email may go nowhere, or to someone who is away)."""

    class Kind(models.TextChoices):
        LOW_STOCK = "low_stock", _("Low stock")
        STALE_RATES = "stale_rates", _("Stale exchange rates")
        UNSUPPLIABLE_ORDER = "unsuppliable_order", _("Paid order that cannot ship")
        REFUND_FAILED = "refund_failed", _("Refund failed")
        DISPUTE = "dispute", _("Dispute or flagged order")
        STOCK_DRIFT = "stock_drift", _("Stock drift")
        OTHER = "other", _("Other")

    # A slug, not enforced against Kind in the database: an alert of a kind added later
    # must still be recorded rather than lost (alert_staff never raises).
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.OTHER, verbose_name=_("kind"))
    subject = models.CharField(max_length=255, verbose_name=_("subject"))
    body = models.TextField(blank=True, verbose_name=_("body"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    acknowledged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("acknowledged at"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("acknowledged by")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at"], name="staffalert_newest"),
            models.Index(fields=["kind", "-created_at"], name="staffalert_kind_newest"),
        ]
        verbose_name = _("staff alert")
        verbose_name_plural = _("staff alerts")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None
