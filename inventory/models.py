"""Stock, reservations and the stock ledger.

Inventory knows nothing above the catalog: a reservation is held by an opaque holder id
(a cart's UUID) and both reservations and sales name their order by its id, with no
foreign keys up the stack. Lock order: shop/locks.py.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Stock(models.Model):
    variant = models.OneToOneField("catalog.Variant", on_delete=models.CASCADE, related_name="stock")
    on_hand = models.IntegerField(default=0)
    # Sum of this variant's reservations with status "active" (including ones past their
    # expiry that no one has released yet). Kept exact under the stock row lock.
    reserved = models.IntegerField(default=0)
    low_stock_threshold = models.PositiveIntegerField(default=5)
    low_stock_alerted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku}: {self.on_hand} on hand, {self.reserved} reserved"


class Reservation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        COMMITTED = "committed"
        RELEASED = "released"
        EXPIRED = "expired"

    # Whoever holds the units: a cart's id, opaque here (no foreign key up the stack). A
    # reservation holds stock until released, committed or expired, whatever becomes of
    # its holder; deleting a cart no longer drops its reservations behind Stock.reserved's
    # back (carts are not deletable in the admin, and payments and orders protect them).
    holder_id = models.UUIDField()
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The order a committed reservation was sold to (its id), set by attach_order.
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)

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

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id} for {self.holder_id} ({self.status})"


class StockMovement(models.Model):
    """The ledger: every change of on_hand is one row, so on_hand == sum(delta)."""

    class Reason(models.TextChoices):
        RECEIVED = "received", "Received"
        IMPORT = "import", "Catalog import"
        SALE = "sale", "Sale"
        CANCEL = "cancel", "Order cancelled"
        RETURN = "return", "Return"
        DAMAGED = "damaged", "Damaged or lost"
        CORRECTION = "correction", "Stock count correction"

    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="movements")
    delta = models.IntegerField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The order of a sale (its id), set by attach_order; None for every other movement.
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    balance_after = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["variant", "created_at"])]
        constraints = [models.CheckConstraint(condition=~Q(delta=0), name="movement_delta_not_zero")]

    def __str__(self) -> str:
        return f"{self.variant_id} {self.delta:+d} ({self.reason})"
