"""Orders exist only for paid carts; each is a snapshot that never changes when prices,
rates or the catalog change later (invariants 7, 9)."""
from __future__ import annotations

import secrets

import moneyed

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
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
        """Where the order is (orders.services.TRANSITIONS says what may follow what)."""

        AUTHORIZED = "authorized", _("Authorized")  # the card is authorized, not yet captured (manual capture)
        PAID = "paid", _("Paid")
        PROCESSING = "processing", _("Processing")  # staff are packing it: the shopper can no longer cancel
        PARTIALLY_SHIPPED = "partially_shipped", _("Partially Shipped")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        NEEDS_ATTENTION = "needs_attention", _("Needs Attention")
        REFUNDED = "refunded", _("Refunded")  # refunded in full before it was shipped
        FULFILLED = "fulfilled", _("Fulfilled")  # not set any more; orders made before shipments kept it

    class PaymentStatus(models.TextChoices):
        AUTHORIZED = "authorized", _("Authorized")
        PAID = "paid", _("Paid")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially Refunded")
        REFUNDED = "refunded", _("Refunded")
        FAILED = "failed", _("Failed")  # the authorization was cancelled or lapsed before capture

    number = models.CharField(max_length=20, unique=True, verbose_name=_("number"))
    cart = models.OneToOneField("cart.Cart", on_delete=models.PROTECT, related_name="order", verbose_name=_("cart"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders", verbose_name=_("user"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PAID, verbose_name=_("status"))
    payment_status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PAID, verbose_name=_("payment status"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    exchange_rate = models.DecimalField(max_digits=20, decimal_places=10, verbose_name=_("exchange rate"))
    email = models.EmailField(verbose_name=_("email"))
    shipping_address = models.JSONField(verbose_name=_("shipping address"))
    billing_address = models.JSONField(null=True, blank=True, verbose_name=_("billing address"))
    shipping_method = models.CharField(max_length=32, blank=True, verbose_name=_("shipping method"))
    shipping_method_name = models.CharField(max_length=100, blank=True, verbose_name=_("shipping method name"))
    subtotal = MoneyField(**MONEY, verbose_name=_("subtotal"))
    shipping = MoneyField(**MONEY, verbose_name=_("shipping"))
    tax = MoneyField(**MONEY, verbose_name=_("tax"))
    discount = MoneyField(**MONEY, verbose_name=_("discount"))
    total = MoneyField(**MONEY, verbose_name=_("total"))
    refunded = MoneyField(**MONEY, verbose_name=_("refunded"))
    # The quote's parts (invariant 17): tax by name and rate ([{"name", "rate", "amount"}],
    # amounts as decimal strings in `currency`), whether prices included it, and the code.
    tax_lines = models.JSONField(default=list, blank=True, verbose_name=_("tax lines"))
    prices_include_tax = models.BooleanField(default=False, verbose_name=_("prices include tax"))
    discount_code = models.CharField(max_length=40, blank=True, verbose_name=_("discount code"))
    # The language the shopper checked out in (a code of settings.LANGUAGES): every email
    # about the order is written in it, whoever or whatever sends it.
    language = models.CharField(max_length=8, default="en", verbose_name=_("language"))
    access_token = models.CharField(max_length=64, default=_new_token, editable=False, verbose_name=_("access token"))
    staff_note = models.TextField(blank=True, verbose_name=_("staff note"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    variant = models.ForeignKey("catalog.Variant", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("variant"))
    sku = models.CharField(max_length=64, verbose_name=_("sku"))
    product_name = models.CharField(max_length=200, verbose_name=_("product name"))
    variant_name = models.CharField(max_length=200, blank=True, verbose_name=_("variant name"))
    attributes = models.JSONField(default=dict, verbose_name=_("attributes"))
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    unit_price_usd = MoneyField(**MONEY, verbose_name=_("unit price usd"))
    unit_price = MoneyField(**MONEY, verbose_name=_("unit price"))
    line_total = MoneyField(**MONEY, verbose_name=_("line total"))
    # The line's share of the order's discount, and its tax at `tax_rate` percent (on the
    # discounted amount; included in line_total when the order's prices include tax).
    discount = MoneyField(**MONEY, default=0, verbose_name=_("discount"))
    tax = MoneyField(**MONEY, default=0, verbose_name=_("tax"))
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True, verbose_name=_("tax rate"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")

    def __str__(self) -> str:
        return f"{self.quantity} × {self.display_name}"

    @property
    def display_name(self) -> str:
        """The name the shopper saw in the cart: product and variant."""
        return f"{self.product_name} – {self.variant_name}" if self.variant_name else self.product_name


class OrderNumberSequence(models.Model):
    """One row per year; numbers are taken under its row lock, so they never repeat."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class OrderEvent(models.Model):
    """One change of an order's status: from, to, who (a staff member, the customer, or
    the shop itself when `actor` is empty), when and why. Written by orders.services only,
    in the transaction that changes the status."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    from_status = models.CharField(max_length=20, blank=True, verbose_name=_("from status"))  # "" for the order's creation
    to_status = models.CharField(max_length=20, choices=Order.Status.choices, verbose_name=_("to status"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("actor"))
    by_customer = models.BooleanField(default=False, verbose_name=_("by customer"))
    note = models.CharField(max_length=500, blank=True, verbose_name=_("note"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} → {self.to_status}"


class Shipment(models.Model):
    """A parcel sent for an order: some or all of its lines, with the carrier's tracking.
    Written by orders.fulfilment only."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments", verbose_name=_("order"))
    carrier = models.CharField(max_length=32, verbose_name=_("carrier"))
    tracking_number = models.CharField(max_length=64, db_index=True, verbose_name=_("tracking number"))
    tracking_url = models.URLField(max_length=500, blank=True, verbose_name=_("tracking url"))
    shipped_at = models.DateTimeField(verbose_name=_("shipped at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by"))

    class Meta:
        ordering = ["shipped_at", "id"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="shipment_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="shipment_line_quantity_positive")]


class ReturnedLine(models.Model):
    """Units of an order line the customer sent back and were refunded (checkout.returns),
    so a line is never refunded for more units than it had. `restocked`: the units went
    back on hand (ledger reason `return`)."""

    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="returns")
    quantity = models.PositiveIntegerField()
    restocked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="returned_line_quantity_positive")]


class SalesOverview(Order):
    """No table of its own: it puts the sales overview (orders.report_admin) under Orders
    in the admin index."""

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = _("sales overview")


class RefundNote(models.Model):
    """What came back to the customer, when and why, as the order tells it: one row per
    rise of the refunded total (orders.services.record_refunded), whether the shop
    refunded or staff did in Stripe's dashboard. The sum is always `Order.refunded`."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refund_notes", verbose_name=_("order"))
    amount = MoneyField(**MONEY, verbose_name=_("amount"))
    reason = models.CharField(max_length=100, verbose_name=_("reason"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("refund note")
        verbose_name_plural = _("refund notes")

    def __str__(self) -> str:
        return f"{self.amount} ({self.reason})"

