"""Order pages: the signed-in customer's list, and one order for its customer or a guest
holding the signed link from the confirmation email."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from moneyed import Money

from orders import selectors
from orders.carriers import carrier_name
from orders.models import Order
from taxes.selectors import TaxRule


@dataclass(frozen=True)
class OrderTaxLine:
    label: str  # "VAT 19%"
    amount: Money


@dataclass(frozen=True)
class OrderTotals:
    """An order's stored totals under the names of cart.pricing.CartTotals, so the pages
    show them with the cart's totals block (templates/partials/totals.html). Read from
    the order's snapshot, never worked out again."""

    subtotal: Money
    discount: Money
    discount_code: str
    free_shipping_code: bool
    shipping: Money
    tax: Money
    total: Money
    prices_include_tax: bool
    tax_lines: list[OrderTaxLine] = field(default_factory=list)
    tax_known: bool = True


def order_totals(order: Order) -> OrderTotals:
    tax_lines = [
        OrderTaxLine(TaxRule(line["name"], Decimal(line["rate"])).label, Money(Decimal(line["amount"]), order.currency))
        for line in order.tax_lines or []
    ]
    if not tax_lines and order.tax.amount:  # an order from before tax lines were stored
        tax_lines = [OrderTaxLine("Tax", order.tax)]
    return OrderTotals(
        subtotal=order.subtotal,
        discount=order.discount,
        discount_code=order.discount_code,
        # A code that took nothing off the lines gave free shipping.
        free_shipping_code=bool(order.discount_code) and not order.discount.amount and not order.shipping.amount,
        shipping=order.shipping,
        tax=order.tax,
        total=order.total,
        prices_include_tax=order.prices_include_tax,
        tax_lines=tax_lines,
    )


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
        "order_totals": order_totals(order),
        "history": selectors.shopper_history(order),
        "shipments": [{"shipment": shipment, "carrier": carrier_name(shipment.carrier)} for shipment in order.shipments.all()],
        "can_cancel": selectors.customer_may_cancel(order),
        "token": request.GET.get("token", ""),
    }
    return render(request, "orders/order_detail.html", context)
