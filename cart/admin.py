"""Cart admin: carts are quotes owned by shoppers and checkout, so staff only look at them;
shipping methods are staff-edited."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from cart.models import Cart, CartLine


class CartLineInline(admin.TabularInline):
    model = CartLine
    fields = ["sku", "product", "quantity", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[CartLine]:
        return super().get_queryset(request).select_related("variant__product")

    def has_add_permission(self, request: HttpRequest, obj: Cart | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Cart | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Cart | None = None) -> bool:
        return False

    @admin.display(description=_("SKU"))
    def sku(self, line: CartLine) -> str:
        return line.variant.sku

    @admin.display(description=_("Product"))
    def product(self, line: CartLine) -> str:
        return str(line.variant)


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "checkout_step", "currency", "email", "line_count", "reservation_expires_at", "last_activity_at", "created_at"]
    list_filter = ["status", "checkout_step", "currency"]
    search_fields = ["id__exact", "email"]
    ordering = ["-last_activity_at"]
    date_hierarchy = "created_at"
    fields = [
        "id", "status", "checkout_step", "currency", "exchange_rate", "user", "email", "shipping_address",
        "billing_address", "shipping_method", "reservation_expires_at", "last_activity_at", "created_at",
        "updated_at", "completed_at",
    ]
    readonly_fields = fields
    inlines = [CartLineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cart]:
        return super().get_queryset(request).annotate(line_total=Count("lines"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Cart | None = None) -> bool:
        return False  # carts change only through cart.services

    def has_delete_permission(self, request: HttpRequest, obj: Cart | None = None) -> bool:
        return False  # deleting a cart in checkout would strand its reserved stock

    @admin.display(description=_("Lines"), ordering="line_total")
    def line_count(self, cart: Cart) -> int:
        return cart.line_total
