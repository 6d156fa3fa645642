"""Discount codes and their uses. A use is reserved by a checkout's payment request
(keyed by an opaque holder id, as stock reservations are), committed with the order or
released with the reservation, so a code is never used more often than its limit
(invariant 16)."""
from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy as _


class DiscountCode(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percentage off")
        FIXED = "fixed", _("Fixed amount off (USD, converted)")
        FREE_SHIPPING = "free_shipping", _("Free shipping")

    code = models.CharField(max_length=40, unique=True, help_text=_("What shoppers type; matched without regard to case."), verbose_name=_("code"))
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    value = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)],
        help_text=_("Percent for a percentage, USD for a fixed amount; empty for free shipping."), verbose_name=_("value"),
    )
    min_subtotal_usd = models.DecimalField(
        _("minimum subtotal (USD)"), max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    starts_at = models.DateTimeField(null=True, blank=True, verbose_name=_("starts at"))
    ends_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ends at"))
    usage_limit = models.PositiveIntegerField(null=True, blank=True, help_text=_("Uses in total; empty: no limit."), verbose_name=_("usage limit"))
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True, help_text=_("Uses per email address; empty: no limit."), verbose_name=_("per customer limit"))
    categories = models.ManyToManyField(
        "catalog.Category", blank=True, related_name="+", help_text=_("Only products of these categories (and their subcategories)."), verbose_name=_("categories")
    )
    products = models.ManyToManyField("catalog.Product", blank=True, related_name="+", help_text=_("Only these products."), verbose_name=_("products"))
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

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
        verbose_name = _("discount code")
        verbose_name_plural = _("discount codes")

    def __str__(self) -> str:
        return self.code


class DiscountUse(models.Model):
    class Status(models.TextChoices):
        RESERVED = "reserved", _("Reserved")  # held by a checkout's payment request until expires_at
        COMMITTED = "committed", _("Committed")  # an order used it
        RELEASED = "released", _("Released")  # the checkout ended without an order, or changed code

    code = models.ForeignKey(DiscountCode, on_delete=models.PROTECT, related_name="uses", verbose_name=_("code"))
    # The checkout (a cart's id) that holds the use; no foreign key, as for stock.
    holder_id = models.UUIDField(db_index=True, verbose_name=_("holder id"))
    email = models.EmailField(verbose_name=_("email"))
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True, verbose_name=_("order id"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RESERVED, verbose_name=_("status"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["code", "status"])]
        constraints = [
            # A checkout holds at most one use that counts (reserved or committed).
            models.UniqueConstraint(fields=["holder_id"], condition=~Q(status="released"), name="one_counting_use_per_holder"),
        ]
        verbose_name = _("discount use")
        verbose_name_plural = _("discount uses")

    def __str__(self) -> str:
        return gettext("%(code)s by %(email)s (%(status)s)") % {"code": self.code, "email": self.email, "status": self.get_status_display().lower()}
