"""Orders exist only for paid carts; each is a snapshot that never changes when prices,
rates or the catalog change later (invariants 7, 9)."""
from __future__ import annotations

import secrets

import moneyed

from django.conf import settings
from django.db import models
from djmoney.models.fields import MoneyField

# One decimal_places for every currency: enough for KWD's three.
# Choices from the ISO list, not from the CURRENCIES setting, so that changing the
# setting never asks for a migration and old orders keep their currency.
ISO_CURRENCY_CHOICES = sorted((code, code) for code in moneyed.CURRENCIES)
MONEY = dict(max_digits=14, decimal_places=3, default_currency="USD", currency_choices=ISO_CURRENCY_CHOICES)


def _new_token() -> str:
    return secrets.token_urlsafe(24)


class Order(models.Model):
    class Status(models.TextChoices):
        PAID = "paid"
        NEEDS_ATTENTION = "needs_attention"
        FULFILLED = "fulfilled"
        CANCELLED = "cancelled"
        REFUNDED = "refunded"

    class PaymentStatus(models.TextChoices):
        AUTHORIZED = "authorized"
        PAID = "paid"
        PARTIALLY_REFUNDED = "partially_refunded"
        REFUNDED = "refunded"

    number = models.CharField(max_length=20, unique=True)
    cart = models.OneToOneField("cart.Cart", on_delete=models.PROTECT, related_name="order")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PAID)
    payment_status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PAID)
    currency = models.CharField(max_length=3)
    exchange_rate = models.DecimalField(max_digits=20, decimal_places=10)
    email = models.EmailField()
    shipping_address = models.JSONField()
    billing_address = models.JSONField(null=True, blank=True)
    shipping_method = models.CharField(max_length=32, blank=True)
    subtotal = MoneyField(**MONEY)
    shipping = MoneyField(**MONEY)
    tax = MoneyField(**MONEY)
    discount = MoneyField(**MONEY)
    total = MoneyField(**MONEY)
    refunded = MoneyField(**MONEY)
    access_token = models.CharField(max_length=64, default=_new_token, editable=False)
    staff_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("catalog.Variant", null=True, on_delete=models.SET_NULL, related_name="+")
    sku = models.CharField(max_length=64)
    product_name = models.CharField(max_length=200)
    variant_name = models.CharField(max_length=200, blank=True)
    attributes = models.JSONField(default=dict)
    quantity = models.PositiveIntegerField()
    unit_price_usd = MoneyField(**MONEY)
    unit_price = MoneyField(**MONEY)
    line_total = MoneyField(**MONEY)

    class Meta:
        ordering = ["id"]

    @property
    def display_name(self) -> str:
        """The name the shopper saw in the cart: product and variant."""
        return f"{self.product_name} – {self.variant_name}" if self.variant_name else self.product_name


class OrderNumberSequence(models.Model):
    """One row per year; numbers are taken under its row lock, so they never repeat."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)
