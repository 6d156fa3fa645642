"""The order admin's actions that need the whole shop: cancelling an order gives back its
money (payments) and its stock (inventory), so it is put on the order admin from here,
the layer above both (as payments puts its refund page there)."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from checkout import cancellation
from orders import fulfilment
from orders import services as order_services
from orders.models import Order
from payments.admin import OrderWithPaymentsAdmin
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
            self.message_user(request, f"{done}: {', '.join(succeeded)}.", messages.SUCCESS)  # type: ignore[attr-defined]
        for problem in problems:
            self.message_user(request, problem, messages.ERROR)  # type: ignore[attr-defined]

    @admin.action(description="Cancel the selected orders (refund or release the payment, put the stock back)", permissions=["act"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._each(
            request, queryset,
            lambda order: cancellation.cancel_order(order_id=order.pk, by_customer=False, actor_id=request.user.pk),
            "Cancelled, refunds sent and stock put back",
        )

    @admin.action(description="Mark the selected orders as being prepared (the shopper can no longer cancel)", permissions=["act"])
    def mark_processing(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._each(
            request, queryset,
            lambda order: order_services.change_status(order_id=order.pk, to=Order.Status.PROCESSING, actor_id=request.user.pk),
            "Now being prepared",
        )

    @admin.action(description="Mark the selected orders as delivered (every parcel arrived)", permissions=["act"])
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._each(
            request, queryset,
            lambda order: fulfilment.mark_delivered(order_id=order.pk, actor_id=request.user.pk),
            "Delivered",
        )


admin.site.unregister(Order)


@admin.register(Order)
class OrderStaffAdmin(OrderStaffActions, OrderWithPaymentsAdmin):
    actions = [*OrderWithPaymentsAdmin.actions, *OrderStaffActions.actions]
