"""Inventory admin: stock levels, the "Adjust stock" page, the ledger and reservations.

on_hand and reserved are never edited here: on_hand changes only through
inventory.services.adjust (which writes the ledger row), reserved only through checkout.
Availability and stock status come from inventory.selectors.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _, ngettext, pgettext_lazy

from catalog import admin as catalog_admin
from catalog.models import Product, Variant
from inventory import services as inventory_services
from inventory.forms import StockAdjustmentForm
from inventory.models import Reservation, Stock, StockMovement
from inventory.selectors import annotate_availability, availability_of, filter_by_stock_status, stock_status
from shop.errors import ShopError

STOCK_STATUS_LABELS = {
    "in_stock": pgettext_lazy("stock status", "In stock"),
    "low_stock": pgettext_lazy("stock status", "Low stock"),
    "out_of_stock": pgettext_lazy("stock status", "Out of stock"),
}
RECENT_MOVEMENTS_SHOWN = 10


def stock_status_label(available: int, threshold: int) -> str:
    return STOCK_STATUS_LABELS[stock_status(available, threshold)]


def adjust_stock_url(variant_id: int) -> str:
    return reverse("admin:inventory_stock_adjust", args=[variant_id])


def ledger_url(sku: str) -> str:
    return reverse("admin:inventory_stockmovement_changelist") + f"?q={sku}"


class StockStatusFilter(admin.SimpleListFilter):
    title = _("stock status")
    parameter_name = "stock_status"

    def lookups(self, request, model_admin):
        return [(key, STOCK_STATUS_LABELS[key]) for key in ("low_stock", "out_of_stock", "in_stock")]

    def queryset(self, request, queryset):
        if self.value() not in STOCK_STATUS_LABELS:
            return queryset
        variants = filter_by_stock_status(annotate_availability(Variant.objects.order_by()), self.value())
        return queryset.filter(variant_id__in=variants.values("pk"))


@admin.register(Stock)
class StockAdmin(admin.ModelAdmin):
    list_display = ["sku", "product", "on_hand", "reserved", "available", "low_stock_threshold", "status", "adjust_link"]
    list_filter = [StockStatusFilter]
    list_select_related = ["variant__product"]
    search_fields = ["variant__sku", "variant__product__name"]
    ordering = ["variant__sku"]
    fields = ["variant_link", "on_hand", "reserved", "available", "status", "low_stock_threshold", "low_stock_alerted_at", "updated_at", "adjust_link", "ledger_link"]
    readonly_fields = ["variant_link", "on_hand", "reserved", "available", "status", "low_stock_alerted_at", "updated_at", "adjust_link", "ledger_link"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Stock]:
        live = annotate_availability(Variant.objects.filter(pk=OuterRef("variant_id")).order_by())
        return super().get_queryset(request).annotate(available_now=Subquery(live.values("available")[:1]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # stock rows come with their variant (inventory.locks.lock_stocks)

    def has_delete_permission(self, request: HttpRequest, obj: Stock | None = None) -> bool:
        return False  # the ledger refers to the variant; a stock row goes only with it

    def save_model(self, request: HttpRequest, obj: Stock, form, change: bool) -> None:
        # Only the threshold is editable; it is written under the stock row lock.
        inventory_services.set_low_stock_threshold(variant_id=obj.variant_id, threshold=form.cleaned_data["low_stock_threshold"])

    @admin.display(description=_("SKU"), ordering="variant__sku")
    def sku(self, stock: Stock) -> str:
        return stock.variant.sku

    @admin.display(description=_("Product"), ordering="variant__product__name")
    def product(self, stock: Stock) -> str:
        return stock.variant.product.name

    @admin.display(description=_("Variant"))
    def variant_link(self, stock: Stock) -> str:
        return format_html(
            '<a href="{}">{}</a> ({})',
            reverse("admin:catalog_variant_change", args=[stock.variant_id]),
            stock.variant.sku,
            stock.variant,
        )

    @admin.display(description=_("Available"), ordering="available_now")
    def available(self, stock: Stock) -> int:
        return stock.available_now

    @admin.display(description=_("Stock status"))
    def status(self, stock: Stock) -> str:
        return stock_status_label(stock.available_now, stock.low_stock_threshold)

    @admin.display(description=_("Adjust"))
    def adjust_link(self, stock: Stock) -> str:
        return format_html('<a href="{}">{}</a>', adjust_stock_url(stock.variant_id), gettext("Adjust stock"))

    @admin.display(description=_("Ledger"))
    def ledger_link(self, stock: Stock) -> str:
        return format_html('<a href="{}">{}</a>', ledger_url(stock.variant.sku), gettext("Stock movements of %(sku)s") % {"sku": stock.variant.sku})

    def get_urls(self):
        # Before the default patterns: "<path:object_id>/" would swallow "adjust/...".
        return [
            path("adjust/<int:variant_id>/", self.admin_site.admin_view(self.adjust_view), name="inventory_stock_adjust"),
        ] + super().get_urls()

    def adjust_view(self, request: HttpRequest, variant_id: int) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        variant = get_object_or_404(Variant.objects.select_related("product"), pk=variant_id)
        form = StockAdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                # Our own atomic block: a refusal raised under the stock lock rolls back
                # cleanly and leaves the connection usable for re-rendering the form.
                with transaction.atomic():
                    movement = inventory_services.adjust(
                        variant_id=variant.pk,
                        delta=form.cleaned_data["delta"],
                        reason=form.cleaned_data["reason"],
                        actor_id=request.user.pk,
                        note=form.cleaned_data["note"],
                    )
            except ShopError as error:
                form.add_refusal(error)
            else:
                self.message_user(
                    request,
                    gettext("%(sku)s: %(delta)s (%(reason)s). On hand is now %(on_hand)s.")
                    % {"sku": variant.sku, "delta": f"{movement.delta:+d}", "reason": movement.get_reason_display(), "on_hand": movement.balance_after},
                    messages.SUCCESS,
                )
                stock = Stock.objects.get(variant_id=variant.pk)
                return HttpResponseRedirect(reverse("admin:inventory_stock_change", args=[stock.pk]))
        return self._render_adjust_form(request, variant, form)

    def _render_adjust_form(self, request: HttpRequest, variant: Variant, form: StockAdjustmentForm) -> HttpResponse:
        stock = Stock.objects.filter(variant_id=variant.pk).first()
        available, status = availability_of([variant.pk])[variant.pk]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Adjust stock: %(sku)s") % {"sku": variant.sku},
            "variant": variant,
            "stock": stock,
            "on_hand": stock.on_hand if stock else 0,
            "reserved": stock.reserved if stock else 0,
            "available": available,
            "status": STOCK_STATUS_LABELS[status],
            "form": form,
            "recent_movements": StockMovement.objects.filter(variant_id=variant.pk).select_related("actor")[:RECENT_MOVEMENTS_SHOWN],
            "ledger_url": ledger_url(variant.sku),
        }
        return TemplateResponse(request, "admin/inventory/stock/adjust.html", context)


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    """The ledger: read-only, because on_hand == sum(delta) must always hold."""

    list_display = ["created_at", "sku", "signed_delta", "reason", "balance_after", "actor", "order_id", "note"]
    list_filter = ["reason", "created_at"]
    list_select_related = ["variant", "actor"]
    search_fields = ["variant__sku"]
    date_hierarchy = "created_at"
    fields = ["created_at", "variant", "signed_delta", "reason", "balance_after", "actor", "order_id", "note"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StockMovement | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StockMovement | None = None) -> bool:
        return False

    @admin.display(description=_("SKU"), ordering="variant__sku")
    def sku(self, movement: StockMovement) -> str:
        return movement.variant.sku

    @admin.display(description=_("Delta"), ordering="delta")
    def signed_delta(self, movement: StockMovement) -> str:
        return f"{movement.delta:+d}"


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ["id", "holder_id", "sku", "quantity", "status", "expires_at", "liveness", "order_id"]
    list_filter = ["status"]
    list_select_related = ["variant"]
    search_fields = ["variant__sku"]
    ordering = ["-created_at"]
    fields = ["holder_id", "variant", "quantity", "status", "liveness", "expires_at", "created_at", "closed_at", "order_id"]
    readonly_fields = fields
    actions = ["release_expired_reservations"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Reservation | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Reservation | None = None) -> bool:
        return False  # deleting one would leave stock.reserved counting it

    def has_release_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("inventory.change_reservation")

    @admin.display(description=_("SKU"), ordering="variant__sku")
    def sku(self, reservation: Reservation) -> str:
        return reservation.variant.sku

    @admin.display(description=_("Holds stock"))
    def liveness(self, reservation: Reservation) -> str:
        if reservation.status != Reservation.Status.ACTIVE:
            return "—"
        if reservation.expires_at > timezone.now():
            return gettext("Live")
        return gettext("Expired (no longer holds stock; not yet released)")

    @admin.action(description=_("Release expired reservations now (all of them, not only the selected)"), permissions=["release"])
    def release_expired_reservations(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        self._release_expired(request)

    def _release_expired(self, request: HttpRequest) -> None:
        freed = inventory_services.expire_reservations()
        self.message_user(
            request,
            ngettext("Released expired reservations: %(count)s unit(s) freed.", "Released expired reservations: %(count)s unit(s) freed.", freed)
            % {"count": freed},
            messages.SUCCESS,
        )

    def get_urls(self):
        return [
            path("release-expired/", self.admin_site.admin_view(self.release_expired_view), name="inventory_reservation_release_expired"),
        ] + super().get_urls()

    def release_expired_view(self, request: HttpRequest) -> HttpResponse:
        """The same as the action, from a button: the action needs a selected row."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_release_permission(request):
            raise PermissionDenied
        self._release_expired(request)
        return HttpResponseRedirect(reverse("admin:inventory_reservation_changelist"))

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {**(extra_context or {}), "can_release": self.has_release_permission(request)}
        return super().changelist_view(request, extra_context)


# --- stock on the catalog's product and variant pages -------------------------------
# The catalog knows nothing of stock; inventory (installed after it) puts the stock
# columns and the "Adjust stock" links on its admin.


def with_stock_figures(variants: QuerySet[Variant]) -> QuerySet[Variant]:
    """Variants with on_hand_now, reserved_now, available and low_stock_threshold_now, in the
    same query (the stock row is joined, reservations are a subquery)."""
    return annotate_availability(variants)


class StockFiguresMixin:
    """Read-only stock columns for a Variant queryset built by with_stock_figures."""

    @admin.display(description=_("On hand"), ordering="on_hand_now")
    def on_hand(self, variant: Variant):
        return getattr(variant, "on_hand_now", "—")

    @admin.display(description=_("Reserved"), ordering="reserved_now")
    def reserved(self, variant: Variant):
        # Includes reservations past their time that the sweeper has not released yet;
        # "available" already ignores those.
        return getattr(variant, "reserved_now", "—")

    @admin.display(description=_("Available"), ordering="available")
    def available(self, variant: Variant):
        return getattr(variant, "available", "—")

    @admin.display(description=_("Stock status"))
    def stock_status(self, variant: Variant):
        if not hasattr(variant, "available"):
            return "—"
        return stock_status_label(variant.available, variant.low_stock_threshold_now)

    @admin.display(description=_("Stock"))
    def adjust_stock_link(self, variant: Variant):
        if not variant.pk:
            return "—"
        return format_html('<a href="{}">{}</a>', adjust_stock_url(variant.pk), gettext("Adjust stock"))


class VariantStockInline(StockFiguresMixin, catalog_admin.VariantInline):
    fields = [*catalog_admin.VariantInline.fields, "on_hand", "reserved", "available", "adjust_stock_link"]
    readonly_fields = ["on_hand", "reserved", "available", "adjust_stock_link"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        return with_stock_figures(super().get_queryset(request))


admin.site.unregister(Product)
admin.site.unregister(Variant)


@admin.register(Product)
class ProductWithStockAdmin(catalog_admin.ProductAdmin):
    inlines = [catalog_admin.ProductImageInline, VariantStockInline]


@admin.register(Variant)
class VariantWithStockAdmin(StockFiguresMixin, catalog_admin.VariantAdmin):
    list_display = [
        "sku", "product", "display_name", "price", "on_hand", "reserved", "available", "stock_status", "is_active", "adjust_stock_link",
    ]
    readonly_fields = ["on_hand", "reserved", "available", "stock_status", "adjust_stock_link"]
    fieldsets = [
        *catalog_admin.VariantAdmin.fieldsets,
        (_("Stock"), {"fields": ["on_hand", "reserved", "available", "stock_status", "adjust_stock_link"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        return with_stock_figures(super().get_queryset(request))
