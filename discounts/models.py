"""Discount codes and their uses. A use is reserved by a checkout's payment request
(keyed by an opaque holder id, as stock reservations are), committed with the order or
released with the reservation, so a code is never used more often than its limit
(invariant 16)."""
from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


class DiscountCode(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", "Percentage off"
        FIXED = "fixed", "Fixed amount off (USD, converted)"
        FREE_SHIPPING = "free_shipping", "Free shipping"

    code = models.CharField(max_length=40, unique=True, help_text="What shoppers type; matched without regard to case.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)],
        help_text="Percent for a percentage, USD for a fixed amount; empty for free shipping.",
    )
    min_subtotal_usd = models.DecimalField(
        "minimum subtotal (USD)", max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Uses in total; empty: no limit.")
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Uses per email address; empty: no limit.")
    categories = models.ManyToManyField(
        "catalog.Category", blank=True, related_name="+", help_text="Only products of these categories (and their subcategories)."
    )
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="+", help_text="Only these products.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code=models.functions.Upper("code")), name="discount_code_upper_case"),
            models.CheckConstraint(
                condition=Q(kind="free_shipping") | Q(value__isnull=False), name="discount_code_value_unless_free_shipping"
            ),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100), name="discount_code_percent_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class DiscountUse(models.Model):
    class Status(models.TextChoices):
        RESERVED = "reserved"  # held by a checkout's payment request until expires_at
        COMMITTED = "committed"  # an order used it
        RELEASED = "released"  # the checkout ended without an order, or changed code

    code = models.ForeignKey(DiscountCode, on_delete=models.PROTECT, related_name="uses")
    # The checkout (a cart's id) that holds the use; no foreign key, as for stock.
    holder_id = models.UUIDField(db_index=True)
    email = models.EmailField()
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RESERVED)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["code", "status"])]
        constraints = [
            # A checkout holds at most one use that counts (reserved or committed).
            models.UniqueConstraint(fields=["holder_id"], condition=~Q(status="released"), name="one_counting_use_per_holder"),
        ]

    def __str__(self) -> str:
        return f"{self.code} by {self.email} ({self.status})"
