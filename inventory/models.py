"""Stock, reservations and the stock ledger.

Inventory knows nothing above the catalog: a reservation is held by an opaque holder id
(a cart's UUID) and both reservations and sales name their order by its id, with no
foreign keys up the stack. Lock order: shop/locks.py.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext, gettext_lazy as _


class Stock(models.Model):
    variant = models.OneToOneField("catalog.Variant", on_delete=models.CASCADE, related_name="stock", verbose_name=_("variant"))
    on_hand = models.IntegerField(default=0, verbose_name=_("on hand"))
    # Sum of this variant's reservations with status "active" (including ones past their
    # expiry that no one has released yet). Kept exact under the stock row lock.
    reserved = models.IntegerField(default=0, verbose_name=_("reserved"))
    low_stock_threshold = models.PositiveIntegerField(default=5, verbose_name=_("low stock threshold"))
    low_stock_alerted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("low stock alerted at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
        ]
        verbose_name = _("stock")
        verbose_name_plural = _("stocks")

    def __str__(self) -> str:
        return gettext("%(sku)s: %(on_hand)s on hand, %(reserved)s reserved") % {"sku": self.variant.sku, "on_hand": self.on_hand, "reserved": self.reserved}


class Reservation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        COMMITTED = "committed", _("Committed")
        RELEASED = "released", _("Released")
        EXPIRED = "expired", _("Expired")

    # Whoever holds the units: a cart's id, opaque here (no foreign key up the stack). A
    # reservation holds stock until released, committed or expired, whatever becomes of
    # its holder; deleting a cart no longer drops its reservations behind Stock.reserved's
    # back (carts are not deletable in the admin, and payments and orders protect them).
    holder_id = models.UUIDField(verbose_name=_("holder id"))
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="reservations", verbose_name=_("variant"))
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    # The order a committed reservation was sold to (its id), set by attach_order.
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True, verbose_name=_("order id"))

    class Meta:
        indexes = [
            models.Index(fields=["variant", "expires_at"], condition=Q(status="active"), name="reservation_active_variant"),
            models.Index(fields=["expires_at"], condition=Q(status="active"), name="reservation_active_expiry"),
            models.Index(fields=["holder_id", "status"], name="reservation_holder_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive"),
            # One live reservation per holder and variant.
            models.UniqueConstraint(fields=["holder_id", "variant"], condition=Q(status="active"), name="reservation_one_active_per_cart_variant"),
        ]
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")

    def __str__(self) -> str:
        return gettext("%(quantity)s x %(variant)s for %(holder)s (%(status)s)") % {
            "quantity": self.quantity, "variant": self.variant_id, "holder": self.holder_id, "status": self.get_status_display().lower(),
        }


class StockMovement(models.Model):
    """The ledger: every change of on_hand is one row, so on_hand == sum(delta)."""

    class Reason(models.TextChoices):
        RECEIVED = "received", _("Received")
        IMPORT = "import", _("Catalog import")
        SALE = "sale", _("Sale")
        CANCEL = "cancel", _("Order cancelled")
        RETURN = "return", _("Return")
        DAMAGED = "damaged", _("Damaged or lost")
        CORRECTION = "correction", _("Stock count correction")

    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="movements", verbose_name=_("variant"))
    delta = models.IntegerField(verbose_name=_("delta"))
    reason = models.CharField(max_length=16, choices=Reason.choices, verbose_name=_("reason"))
    note = models.CharField(max_length=255, blank=True, verbose_name=_("note"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("actor"))
    # The order of a sale (its id), set by attach_order; None for every other movement.
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True, verbose_name=_("order id"))
    balance_after = models.IntegerField(verbose_name=_("balance after"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["variant", "created_at"])]
        constraints = [models.CheckConstraint(condition=~Q(delta=0), name="movement_delta_not_zero")]
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")

    def __str__(self) -> str:
        return f"{self.variant_id} {self.delta:+d} ({self.get_reason_display()})"
