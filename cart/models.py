"""The cart is the quote: it carries lines, currency, contact and shipping details and its
checkout state until payment turns it into an order (there are no draft orders)."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy as _


class Cart(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CHECKOUT = "checkout", _("Checkout")
        COMPLETED = "completed", _("Completed")
        ABANDONED = "abandoned", _("Abandoned")

    class Step(models.TextChoices):
        CART = "cart", _("Cart")
        ADDRESS = "address", _("Address")
        SHIPPING = "shipping", _("Shipping")
        PAYMENT = "payment", _("Payment")
        CONFIRMATION = "confirmation", _("Confirmation")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status"))
    currency = models.CharField(max_length=3, default="USD", verbose_name=_("currency"))
    # Units of `currency` per 1 USD, fixed when checkout starts (invariant 7).
    exchange_rate = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True, verbose_name=_("exchange rate"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="carts", verbose_name=_("user"))
    email = models.EmailField(blank=True, verbose_name=_("email"))
    shipping_address = models.JSONField(null=True, blank=True, verbose_name=_("shipping address"))
    billing_address = models.JSONField(null=True, blank=True, verbose_name=_("billing address"))
    shipping_method = models.CharField(max_length=32, blank=True, verbose_name=_("shipping method"))
    # The quote: the shipping method's USD price (for the cart's weight) and free-shipping
    # threshold when it was chosen in checkout.
    quoted_shipping_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, verbose_name=_("quoted shipping usd"))
    quoted_free_over_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, verbose_name=_("quoted free over usd"))
    # The one discount code the shopper applied (discounts.DiscountCode.code), or "".
    discount_code = models.CharField(max_length=40, blank=True, verbose_name=_("discount code"))
    checkout_step = models.CharField(max_length=16, choices=Step.choices, default=Step.CART, verbose_name=_("checkout step"))
    reservation_expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reservation expires at"))
    # When this checkout's stock was first held: extensions stop at CHECKOUT_MAX_HOLD
    # after it (checkout.reservations.hold_deadline). Reset when checkout starts again.
    checkout_started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("checkout started at"))
    last_activity_at = models.DateTimeField(auto_now_add=True, verbose_name=_("last activity at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))

    class Meta:
        indexes = [
            models.Index(fields=["status", "last_activity_at"]),
            models.Index(fields=["user", "status"]),
        ]
        verbose_name = _("cart")
        verbose_name_plural = _("carts")

    def __str__(self) -> str:
        return gettext("Cart %(id)s (%(status)s)") % {"id": self.id, "status": self.get_status_display().lower()}

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines", verbose_name=_("cart"))
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="+", verbose_name=_("variant"))
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    # The quote: the variant's USD price when checkout started. While it is set, a
    # price change in the catalog does not move what this shopper pays.
    quoted_unit_price_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, verbose_name=_("quoted unit price usd"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_unique_variant"),
            models.CheckConstraint(condition=Q(quantity__gte=1) & Q(quantity__lte=99), name="cart_line_quantity_1_99"),
        ]
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
