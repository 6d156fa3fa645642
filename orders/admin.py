"""Order admin: a read-only view of the snapshots. Payment actions (refunds, captures)
belong with payments, whose admin adds them to this one (payments.admin)."""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, gettext_lazy as _
from moneyed import Money

from addresses.formatting import address_lines
from currencies.money import format_money
from discounts import admin as discounts_admin
from discounts.models import DiscountCode, DiscountUse
from inventory import admin as inventory_admin
from inventory.models import Reservation, StockMovement
from orders import fulfilment
from orders.carriers import carrier_name, carriers
from orders.fulfilment import SHIPPABLE, unshipped_quantities
from orders.models import Order, OrderEvent, OrderLine, RefundNote, Shipment
from shop.errors import ShopError
from taxes.selectors import format_rate

# Amounts on the order page are written one way for every currency ($, €, ¥, KWD), with
# the currency's own minor units, as the confirmation email writes them.
STAFF_MONEY_LOCALE = "en_US"


def money_text(amount: Money) -> str:
    return format_money(amount, STAFF_MONEY_LOCALE)


def tax_line_text(line: dict, currency: str) -> str:
    """One entry of Order.tax_lines as staff read it: "VAT 19%: €3.19"."""
    return f"{line['name']} {format_rate(Decimal(line['rate']))}%: {money_text(Money(Decimal(line['amount']), currency))}"


def address_html(address: dict | None) -> str:
    """An address as its country writes it (addresses.formatting), one line each."""
    lines = address_lines(address)
    if not lines:
        return "—"
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))


class ReadOnlyInline(admin.TabularInline):
    """A record of the order's (its lines, events, parcels, refunds): shown, never edited."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None):
        return self.fields

    def has_add_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "sku", "product_name", "variant_name", "attributes", "quantity", "unit_price_usd", "unit_price", "line_total",
        "discount", "tax", "tax_rate_text",
    ]

    @admin.display(description=_("Tax rate"))
    def tax_rate_text(self, line: OrderLine) -> str:
        return f"{format_rate(line.tax_rate)}%" if line.tax_rate is not None else "—"


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "from_status", "to_status", "actor", "by_customer", "note"]
    verbose_name_plural = _("history")


class OrderLinesForm(forms.Form):
    """A staff form with one whole-number field per order line (`line_<id>`), from 0 to
    the units of the line `left` for this action, and the service's refusals shown next
    to the fields they name (`lines.<id>` -> that line's field)."""

    not_yet = ""  # what `left` counts: units not "shipped" / "returned" yet
    left_help = _("%(units)s of %(quantity)s left.")  # the help text under each line's field

    def __init__(self, *args, order: Order, left: dict[int, int], **kwargs):
        super().__init__(*args, **kwargs)
        self.line_fields = []
        for line in order.lines.all():
            name = f"line_{line.pk}"
            units = max(left.get(line.pk, 0), 0)
            self.fields[name] = forms.IntegerField(
                label=self.line_label(line), min_value=0, max_value=units, initial=self.line_initial(units),
                help_text=self.left_help % {"units": units, "quantity": line.quantity},
            )
            self.line_fields.append((line.pk, name))

    def line_label(self, line: OrderLine) -> str:
        return gettext("%(name)s (SKU %(sku)s)") % {"name": line.display_name, "sku": line.sku}

    def line_initial(self, units_left: int) -> int:
        return units_left

    def quantities(self) -> dict[int, int]:
        return {line_id: self.cleaned_data[name] or 0 for line_id, name in self.line_fields}

    def add_refusal(self, error: ShopError) -> None:
        names = {f"lines.{line_id}": name for line_id, name in self.line_fields}
        named = [key for key in error.details if key in self.fields or key in names]
        for key in named:
            self.add_error(names.get(key, key), error.details[key][0])
        if not named:
            self.add_error(None, error.message)


class ShipmentForm(OrderLinesForm):
    """Carrier, tracking number and, per order line, the units in this parcel (the units
    not shipped yet by default). orders.fulfilment.ship decides what is allowed."""

    not_yet = "shipped"
    left_help = _("%(units)s of %(quantity)s not shipped yet.")
    carrier = forms.ChoiceField(label=_("Carrier"))
    tracking_number = forms.CharField(max_length=64, label=_("Tracking number"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["carrier"].choices = [(code, gettext(name)) for code, (name, _url) in carriers().items()]


class RefundNoteInline(ReadOnlyInline):
    model = RefundNote
    fields = ["created_at", "amount", "reason"]
    verbose_name_plural = _("refunds")


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ["shipped_at", "carrier", "tracking_number", "tracking_link", "delivered_at", "created_by"]

    @admin.display(description=_("Track"))
    def tracking_link(self, shipment: Shipment) -> str:
        return format_html('<a href="{}" rel="noopener">{}</a>', shipment.tracking_url, gettext("track")) if shipment.tracking_url else "—"


class DiscountCodeUsedFilter(admin.SimpleListFilter):
    title = _("discount code")
    parameter_name = "with_code"

    def lookups(self, request, model_admin):
        return [("yes", _("With a discount code")), ("no", _("Without"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(discount_code="")
        if self.value() == "no":
            return queryset.filter(discount_code="")
        return queryset


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "status", "payment_status", "email", "total", "created_at"]
    list_filter = ["status", "payment_status", "currency", DiscountCodeUsedFilter, "created_at"]
    # Staff look an order up by what the customer tells them: its number, their email or
    # name, their city, a SKU they bought, a tracking number, a code.
    search_fields = [
        "number", "email", "shipping_address__name", "billing_address__name", "shipping_address__city", "lines__sku",
        "shipments__tracking_number", "=discount_code",
    ]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["number", "status", "payment_status", "email", "user", "cart", "created_at", "language_name"]}),
        (_("Amounts"), {"fields": [
            "currency", "exchange_rate", "subtotal", "discount_code_link", "discount", "shipping", "tax", "tax_breakdown",
            "prices_include_tax", "total", "refunded",
        ]}),
        (_("Delivery"), {"fields": ["shipping_method_text", "shipping_address_text", "billing_address_text"]}),
        (_("Staff"), {"fields": ["staff_note"]}),
    ]
    readonly_fields = [
        "number", "status", "payment_status", "email", "user", "cart", "created_at", "currency", "exchange_rate",
        "subtotal", "discount_code_link", "discount", "shipping", "tax", "tax_breakdown", "prices_include_tax", "total",
        "refunded", "shipping_method_text", "shipping_address_text", "billing_address_text", "staff_note", "language_name",
    ]
    inlines = [OrderLineInline, ShipmentInline, RefundNoteInline, OrderEventInline]

    @admin.display(description=_("Discount code"))
    def discount_code_link(self, order: Order) -> str:
        if not order.discount_code:
            return "—"
        code_id = DiscountCode.objects.filter(code=order.discount_code).values_list("pk", flat=True).first()
        if code_id is None:  # the code was deleted (it had no committed use then)
            return order.discount_code
        return format_html('<a href="{}">{}</a>', reverse("admin:discounts_discountcode_change", args=[code_id]), order.discount_code)

    @admin.display(description=_("Language"))
    def language_name(self, order: Order) -> str:
        """The language the shopper checked out in; their emails are written in it."""
        names = dict(settings.LANGUAGES)
        return f"{names[order.language]} ({order.language})" if order.language in names else order.language

    @admin.display(description=_("Tax by rate"))
    def tax_breakdown(self, order: Order) -> str:
        if not order.tax_lines:
            return gettext("No tax.")
        return format_html_join(mark_safe("<br>"), "{}", ((tax_line_text(line, order.currency),) for line in order.tax_lines))

    @admin.display(description=_("Shipping address"))
    def shipping_address_text(self, order: Order) -> str:
        return address_html(order.shipping_address)

    @admin.display(description=_("Billing address"))
    def billing_address_text(self, order: Order) -> str:
        return address_html(order.billing_address) if order.billing_address else gettext("Same as shipping.")

    @admin.display(description=_("Shipping method"))
    def shipping_method_text(self, order: Order) -> str:
        if order.shipping_method_name and order.shipping_method:
            return f"{order.shipping_method_name} ({order.shipping_method})"
        return order.shipping_method_name or order.shipping_method or "—"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come only from paid carts

    def has_change_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Order | None = None) -> bool:
        return False

    def get_fieldsets(self, request: HttpRequest, obj: Order | None = None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and self.has_ship_permission(request):
            fieldsets.append((_("Shipping"), {"fields": ["ship_button"]}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Order | None = None):
        return [*super().get_readonly_fields(request, obj), "ship_button"]

    def has_ship_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.change_order")

    @admin.display(description=_("Ship"))
    def ship_button(self, order: Order) -> str:
        if order.status not in SHIPPABLE:
            return gettext("Not shippable while %(status)s.") % {"status": order.get_status_display().lower()}
        return format_html('<a class="button" href="{}">{}</a>', reverse("admin:orders_order_ship", args=[order.pk]), gettext("Ship…"))

    def get_urls(self):
        return [
            path("<int:order_id>/ship/", self.admin_site.admin_view(self.ship_view), name="orders_order_ship"),
            *super().get_urls(),
        ]

    def ship_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        """Ship some or all lines: the carrier, the tracking number, the units per line."""
        if not self.has_ship_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order.objects.prefetch_related("lines"), pk=order_id)
        form = ShipmentForm(request.POST or None, order=order, left=unshipped_quantities(order))
        if request.method == "POST" and form.is_valid():
            try:
                shipment = fulfilment.ship(
                    order_id=order.pk, quantities=form.quantities(), carrier=form.cleaned_data["carrier"],
                    tracking_number=form.cleaned_data["tracking_number"], actor_id=request.user.pk,
                )
            except ShopError as error:
                form.add_refusal(error)
            else:
                self.message_user(
                    request,
                    gettext("Shipped %(carrier)s %(tracking_number)s; the customer has been emailed.")
                    % {"carrier": carrier_name(shipment.carrier), "tracking_number": shipment.tracking_number},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": Order._meta,
            "title": gettext("Ship order %(number)s") % {"number": order.number},
            "order": order,
            "form": form,
            "shippable": order.status in SHIPPABLE,
        }
        return TemplateResponse(request, "admin/orders/order/ship.html", context)


# --- orders and carts on the stock ledger and reservations ------------------------------
# Inventory refers to orders and carts only by id (it knows nothing above the catalog);
# orders, above both, puts the links on inventory's admin pages.


def _order_number_of(field: str) -> Subquery:
    return Subquery(Order.objects.filter(pk=OuterRef(field)).values("number")[:1])


class OrderLinkMixin:
    @admin.display(description=_("Order"), ordering="order_number")
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

    @admin.display(description=_("Cart"))
    def cart_link(self, reservation: Reservation) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:cart_cart_change", args=[reservation.holder_id]), reservation.holder_id)


# --- orders on the discount codes' uses -------------------------------------------------
# Discounts know an order only by its id; the order admin shows its number, linked.

admin.site.unregister(DiscountCode)
admin.site.unregister(DiscountUse)


@admin.register(DiscountCode)
class DiscountCodeWithOrdersAdmin(discounts_admin.DiscountCodeAdmin):
    def order_numbers(self, order_ids: list[int]) -> dict[int, str]:
        return dict(Order.objects.filter(pk__in=order_ids).values_list("pk", "number"))


@admin.register(DiscountUse)
class DiscountUseWithOrdersAdmin(discounts_admin.DiscountUseAdmin):
    search_fields = [*discounts_admin.DiscountUseAdmin.search_fields, "=order_number"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DiscountUse]:
        return super().get_queryset(request).annotate(order_number=_order_number_of("order_id"))
