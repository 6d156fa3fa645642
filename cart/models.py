"""The cart is the quote: it carries lines, currency, contact and shipping details and its
checkout state until payment turns it into an order (there are no draft orders)."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Cart(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        CHECKOUT = "checkout"
        COMPLETED = "completed"
        ABANDONED = "abandoned"

    class Step(models.TextChoices):
        CART = "cart"
        ADDRESS = "address"
        SHIPPING = "shipping"
        PAYMENT = "payment"
        CONFIRMATION = "confirmation"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    currency = models.CharField(max_length=3, default="USD")
    # Units of `currency` per 1 USD, fixed when checkout starts (invariant 7).
    exchange_rate = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="carts")
    email = models.EmailField(blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    shipping_method = models.CharField(max_length=32, blank=True)
    # The quote: the shipping method's USD price (for the cart's weight) and free-shipping
    # threshold when it was chosen in checkout.
    quoted_shipping_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    quoted_free_over_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # The one discount code the shopper applied (discounts.DiscountCode.code), or "".
    discount_code = models.CharField(max_length=40, blank=True)
    checkout_step = models.CharField(max_length=16, choices=Step.choices, default=Step.CART)
    reservation_expires_at = models.DateTimeField(null=True, blank=True)
    # When this checkout's stock was first held: extensions stop at CHECKOUT_MAX_HOLD
    # after it (checkout.reservations.hold_deadline). Reset when checkout starts again.
    checkout_started_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(auto_now_add=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "last_activity_at"]),
            models.Index(fields=["user", "status"]),
        ]

    def __str__(self) -> str:
        return f"Cart {self.id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    # The quote: the variant's USD price when checkout started. While it is set, a
    # price change in the catalog does not move what this shopper pays.
    quoted_unit_price_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_unique_variant"),
            models.CheckConstraint(condition=Q(quantity__gte=1) & Q(quantity__lte=99), name="cart_line_quantity_1_99"),
        ]
