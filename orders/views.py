"""Order pages: the signed-in customer's list, and one order for its customer or a guest
holding the signed link from the confirmation email."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from orders import selectors
from orders.carriers import carrier_name


@login_required
@require_http_methods(["GET", "HEAD"])
def order_list(request: HttpRequest) -> HttpResponse:
    orders = list(selectors.orders_of_customer(user_id=request.user.pk))
    return render(request, "orders/order_list.html", {"orders": orders})


@require_http_methods(["GET", "HEAD"])
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    user_id = request.user.pk if request.user.is_authenticated else None
    order = selectors.order_for_viewer(number=number, user_id=user_id, token=request.GET.get("token"))
    if order is None:
        raise Http404("No such order.")
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "order_totals": selectors.order_totals(order),
        "history": selectors.shopper_history(order),
        "shipments": [{"shipment": shipment, "carrier": carrier_name(shipment.carrier)} for shipment in order.shipments.all()],
        "can_cancel": selectors.customer_may_cancel(order),
        "token": request.GET.get("token", ""),
    }
    return render(request, "orders/order_detail.html", context)
