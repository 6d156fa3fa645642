"""Order admin: a read-only view of the snapshots. Payment actions (refunds, captures)
belong with payments, whose admin adds them to this one (payments.admin)."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from inventory import admin as inventory_admin
from inventory.models import Reservation, StockMovement
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


# --- orders and carts on the stock ledger and reservations ------------------------------
# Inventory refers to orders and carts only by id (it knows nothing above the catalog);
# orders, above both, puts the links on inventory's admin pages.


def _order_number_of(field: str) -> Subquery:
    return Subquery(Order.objects.filter(pk=OuterRef(field)).values("number")[:1])


class OrderLinkMixin:
    @admin.display(description="Order", ordering="order_number")
    def order_link(self, obj) -> str:
        if obj.order_id is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[obj.order_id]), obj.order_number or obj.order_id
        )


def _with_order_link(names: list[str]) -> list[str]:
    return ["order_link" if name == "order_id" else name for name in names]


admin.site.unregister(StockMovement)
admin.site.unregister(Reservation)


@admin.register(StockMovement)
class StockMovementWithOrderAdmin(OrderLinkMixin, inventory_admin.StockMovementAdmin):
    list_display = _with_order_link(inventory_admin.StockMovementAdmin.list_display)
    fields = _with_order_link(inventory_admin.StockMovementAdmin.fields)
    readonly_fields = fields
    search_fields = [*inventory_admin.StockMovementAdmin.search_fields, "=order_id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockMovement]:
        return super().get_queryset(request).annotate(order_number=_order_number_of("order_id"))

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        # An order number finds its sales ("ORD-2026-00042"), as does its id.
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        order_id = Order.objects.filter(number=search_term.strip()).values_list("pk", flat=True).first()
        if order_id is not None:
            queryset |= self.get_queryset(request).filter(order_id=order_id)
        return queryset, may_have_duplicates


@admin.register(Reservation)
class ReservationWithLinksAdmin(OrderLinkMixin, inventory_admin.ReservationAdmin):
    list_display = ["cart_link" if name == "holder_id" else name for name in _with_order_link(inventory_admin.ReservationAdmin.list_display)]
    fields = ["cart_link" if name == "holder_id" else name for name in _with_order_link(inventory_admin.ReservationAdmin.fields)]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Reservation]:
        return super().get_queryset(request).annotate(order_number=_order_number_of("order_id"))

    @admin.display(description="Cart")
    def cart_link(self, reservation: Reservation) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:cart_cart_change", args=[reservation.holder_id]), reservation.holder_id)
