"""Order endpoints of docs/api.md: the signed-in customer's orders, and one order for its
customer or a guest holding the token of the order's url."""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from orders import selectors
from orders.api_schema import OrderSerializer
from orders.models import Order
from shop.api_base import ShopAPIView
from shop.api_schema import error_responses
from shop.errors import NotFound
from currencies.money import money_json
from currencies.rates import rate_json
from taxes.selectors import rate_text


def order_json(order: Order) -> dict[str, Any]:
    """The Order of docs/api.md (lines, shipments and events expected prefetched)."""
    return {
        "number": order.number,
        "status": order.status,
        "payment_status": order.payment_status,
        "currency": order.currency,
        "exchange_rate": rate_json(order.exchange_rate),
        "lines": [
            {
                "sku": line.sku,
                "name": line.display_name,
                "attributes": line.attributes,
                "quantity": line.quantity,
                "unit_price": money_json(line.unit_price),
                "unit_price_usd": money_json(line.unit_price_usd),
                "line_total": money_json(line.line_total),
                "discount": money_json(line.discount),
                "tax": money_json(line.tax),
                "tax_rate": rate_text(line.tax_rate) if line.tax_rate is not None else None,
            }
            for line in order.lines.all()
        ],
        "subtotal": money_json(order.subtotal),
        "shipping": money_json(order.shipping),
        "tax": money_json(order.tax),
        "tax_lines": [
            {"name": t.name, "rate": rate_text(t.rate) if t.rate is not None else None, "amount": money_json(t.amount)}
            for t in selectors.order_tax_lines(order)
        ],
        "prices_include_tax": order.prices_include_tax,
        "discount": money_json(order.discount),
        "discount_code": order.discount_code or None,
        "total": money_json(order.total),
        "refunded": money_json(order.refunded),
        "email": order.email,
        "shipping_address": order.shipping_address,
        "billing_address": order.billing_address,
        "shipping_method": order.shipping_method or None,
        "shipping_method_name": order.shipping_method_name or None,
        "created_at": order.created_at.isoformat(),
        "fulfilments": [
            {
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "tracking_url": shipment.tracking_url or None,
                "lines": [{"sku": line.order_line.sku, "quantity": line.quantity} for line in shipment.lines.all()],
                "shipped_at": shipment.shipped_at.isoformat(),
                "delivered_at": shipment.delivered_at.isoformat() if shipment.delivered_at else None,
            }
            for shipment in order.shipments.all()
        ],
        "refunds": [
            {"amount": money_json(note.amount), "at": note.created_at.isoformat(), "reason": note.reason}
            for note in order.refund_notes.all()
        ],
        "events": [
            {"status": entry.status, "at": entry.at.isoformat(), "note": entry.note} for entry in selectors.shopper_history(order)
        ],
    }


class OrderListView(ShopAPIView):
    @extend_schema(
        operation_id="orders_list",
        responses={200: OrderSerializer(many=True), **error_responses(429)},
        summary="The signed-in customer's orders, newest first",
    )
    def get(self, request: Request) -> Response:
        if not request.user.is_authenticated:
            return Response([])
        return Response([order_json(order) for order in selectors.orders_of_customer(user_id=request.user.pk)])


class OrderDetailView(ShopAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("token", OpenApiTypes.STR, description="From the order's `url`: lets a guest read it.")],
        responses={200: OrderSerializer, **error_responses(404, 429)},
        summary="One order, for its customer or with the token of its url",
    )
    def get(self, request: Request, number: str) -> Response:
        user_id = request.user.pk if request.user.is_authenticated else None
        order = selectors.order_for_viewer(number=number, user_id=user_id, token=request.query_params.get("token"))
        if order is None:
            raise NotFound("There is no such order.")
        return Response(order_json(order))
