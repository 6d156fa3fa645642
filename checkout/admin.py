"""The order admin's actions that need the whole shop: cancelling an order gives back its
money (payments) and its stock (inventory), so it is put on the order admin from here,
the layer above both (as payments puts its refund page there)."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _, pgettext_lazy

from checkout import cancellation, returns
from currencies.money import format_money
from orders import fulfilment
from orders import status as order_status
from orders.admin import OrderLinesForm
from orders import services as order_services
from orders.models import Order
from payments import refunds
from payments.admin import OrderWithPaymentsAdmin
from payments.amounts import from_stripe
from payments.models import Refund
from shop.errors import ShopError


class OrderStaffActions:
    """Cancel (refund and restock) and move orders on, for staff allowed to change
    orders (`orders.change_order`); a view-only staff member sees none of them."""

    actions = ["cancel_orders", "mark_processing", "mark_delivered"]

    def has_act_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("orders.change_order")

    def _each(self, request: HttpRequest, queryset: QuerySet[Order], act, done: str) -> None:
        succeeded, problems = [], []
        for order in queryset.order_by("pk"):
            try:
                act(order)
            except ShopError as error:
                problems.append(error.message)
            else:
                succeeded.append(order.number)
        if succeeded:
            self.message_user(request, done % {"orders": ", ".join(succeeded)}, messages.SUCCESS)  # type: ignore[attr-defined]
        for problem in problems:
            self.message_user(request, problem, messages.ERROR)  # type: ignore[attr-defined]

    @admin.action(description=_("Cancel the selected orders (refund or release the payment, put the stock back)"), permissions=["act"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._each(
            request, queryset,
            lambda order: cancellation.cancel_order(order_id=order.pk, by_customer=False, actor_id=request.user.pk),
            gettext("Cancelled, refunds sent and stock put back: %(orders)s."),
        )

    @admin.action(description=_("Mark the selected orders as being prepared (the shopper can no longer cancel)"), permissions=["act"])
    def mark_processing(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._each(
            request, queryset,
            lambda order: order_services.change_status(order_id=order.pk, to=Order.Status.PROCESSING, actor_id=request.user.pk),
            gettext("Now being prepared: %(orders)s."),
        )

    @admin.action(description=_("Mark the selected orders as delivered (every parcel arrived)"), permissions=["act"])
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._each(
            request, queryset,
            lambda order: fulfilment.mark_delivered(order_id=order.pk, actor_id=request.user.pk),
            gettext("Delivered: %(orders)s."),
        )


class ReturnForm(OrderLinesForm):
    """Per order line, the units that came back (none by default); shipping; restock; why."""

    not_yet = "returned"
    left_help = _("%(units)s of %(quantity)s not returned yet.")
    include_shipping = forms.BooleanField(required=False, label=_("Refund the shipping too"))
    restock = forms.BooleanField(required=False, initial=True, label=_("Put the returned units back on hand"))
    reason = forms.ChoiceField(label=_("Reason"), choices=Refund.Reason.choices, initial=Refund.Reason.REQUESTED_BY_CUSTOMER)
    note = forms.CharField(label=_("Note"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def line_label(self, line) -> str:
        return gettext("%(name)s (SKU %(sku)s, %(price)s each)") % {"name": line.display_name, "sku": line.sku, "price": line.unit_price}

    def line_initial(self, units_left: int) -> int:
        return 0


class OrderCancelButton:
    """A "Cancel order…" button on the order page, with a confirmation page, for staff
    allowed to change orders; the same service as the list action."""

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))  # type: ignore[misc]
        if obj is not None and request.user.has_perm("orders.change_order"):
            fieldsets.append((pgettext_lazy("order action", "Cancel"), {"fields": ["cancel_button"]}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [*super().get_readonly_fields(request, obj), "cancel_button"]  # type: ignore[misc]

    @admin.display(description=pgettext_lazy("order action", "Cancel"))
    def cancel_button(self, order: Order) -> str:
        refusal = order_status.cancellation_refusal(order, by_customer=False)
        if refusal is not None:
            return refusal
        return format_html('<a class="button" href="{}">{}</a>', reverse("admin:orders_order_cancel", args=[order.pk]), gettext("Cancel order…"))

    def get_urls(self):
        return [
            path("<int:order_id>/cancel/", self.admin_site.admin_view(self.cancel_view), name="orders_order_cancel"),  # type: ignore[attr-defined]
            *super().get_urls(),  # type: ignore[misc]
        ]

    def cancel_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        if not request.user.has_perm("orders.change_order"):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        error = None
        if request.method == "POST":
            try:
                cancellation.cancel_order(order_id=order.pk, by_customer=False, actor_id=request.user.pk, note=request.POST.get("note", "")[:500])
            except ShopError as refused:
                error = refused.message
            else:
                self.message_user(request, gettext("Order %(number)s is cancelled: the payment is refunded and the stock put back.") % {"number": order.number}, messages.SUCCESS)  # type: ignore[attr-defined]
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": Order._meta,
            "title": gettext("Cancel order %(number)s?") % {"number": order.number},
            "order": order,
            "error": error or order_status.cancellation_refusal(order, by_customer=False),
        }
        return TemplateResponse(request, "admin/orders/order/cancel.html", context)


class OrderReturns:
    """A "Return and refund…" page on the order: units back (restocked if asked),
    refunded at the prices paid, for staff who may refund (`payments.add_refund`)."""

    def has_return_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.add_refund")

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))  # type: ignore[misc]
        if obj is not None and self.has_return_permission(request):
            fieldsets.append((_("Returns"), {"fields": ["return_button"]}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [*super().get_readonly_fields(request, obj), "return_button"]  # type: ignore[misc]

    @admin.display(description=_("Return"))
    def return_button(self, order: Order) -> str:
        return format_html('<a class="button" href="{}">{}</a>', reverse("admin:orders_order_return", args=[order.pk]), gettext("Return and refund…"))

    def get_urls(self):
        return [
            path("<int:order_id>/return/", self.admin_site.admin_view(self.return_view), name="orders_order_return"),  # type: ignore[attr-defined]
            *super().get_urls(),  # type: ignore[misc]
        ]

    def return_view(self, request: HttpRequest, order_id: int) -> HttpResponse:
        if not self.has_return_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order.objects.prefetch_related("lines"), pk=order_id)
        form = ReturnForm(request.POST or None, order=order, left=order_services.returnable_quantities(order))
        if request.method == "POST" and form.is_valid():
            try:
                refund = returns.refund_return(
                    order_id=order.pk, quantities=form.quantities(), include_shipping=form.cleaned_data["include_shipping"],
                    restock=form.cleaned_data["restock"], reason=form.cleaned_data["reason"], note=form.cleaned_data["note"],
                    actor_id=request.user.pk,
                )
            except ShopError as error:
                form.add_refusal(error)
            else:
                refund = refunds.send_refund(refund.pk)  # sent after commit already; staff see Stripe's answer
                shown = format_money(from_stripe(refund.amount, refund.currency))
                level = messages.SUCCESS if refund.status == Refund.Status.SUCCEEDED else messages.WARNING
                self.message_user(
                    request, gettext("Refund of %(amount)s %(status)s.") % {"amount": shown, "status": refund.get_status_display().lower()}, level
                )  # type: ignore[attr-defined]
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": Order._meta,
            "title": gettext("Return and refund: order %(number)s") % {"number": order.number},
            "order": order,
            "form": form,
        }
        return TemplateResponse(request, "admin/orders/order/return.html", context)


admin.site.unregister(Order)


@admin.register(Order)
class OrderStaffAdmin(OrderCancelButton, OrderReturns, OrderStaffActions, OrderWithPaymentsAdmin):
    actions = [*OrderWithPaymentsAdmin.actions, *OrderStaffActions.actions]
