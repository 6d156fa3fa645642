"""Order admin: a read-only view of the snapshots. Payment actions (refunds, captures)
belong with payments, whose admin adds them to this one (payments.admin)."""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from orders.models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ["sku", "product_name", "variant_name", "attributes", "quantity", "unit_price_usd", "unit_price", "line_total"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "status", "payment_status", "email", "total", "created_at"]
    list_filter = ["status", "payment_status", "currency", "created_at"]
    search_fields = ["number", "email"]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["number", "status", "payment_status", "email", "user", "cart", "created_at"]}),
        ("Amounts", {"fields": ["currency", "exchange_rate", "subtotal", "shipping", "tax", "discount", "total", "refunded"]}),
        ("Delivery", {"fields": ["shipping_method", "shipping_address", "billing_address"]}),
        ("Staff", {"fields": ["staff_note"]}),
    ]
    readonly_fields = [
        "number", "status", "payment_status", "email", "user", "cart", "created_at", "currency", "exchange_rate",
        "subtotal", "shipping", "tax", "discount", "total", "refunded", "shipping_method", "shipping_address",
        "billing_address", "staff_note",
    ]
    inlines = [OrderLineInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come only from paid carts

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False
