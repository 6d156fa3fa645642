"""The cart, checkout and payment endpoints of the API (docs/api.md): a cart's JSON
carries the order it became, so they sit above both cart and orders."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from cart import services
from checkout import services as checkout_services
from checkout.api_schema import (
    CartCreateRequestSerializer,
    CartSerializer,
    CartStockSerializer,
    CartUpdateRequestSerializer,
    CheckoutUpdateRequestSerializer,
    LineAddRequestSerializer,
    LineQuantityRequestSerializer,
    PaymentRequestSerializer,
    PaymentSerializer,
    ShippingMethodSerializer,
)
from checkout.cancellation import cancel_order
from checkout.payment import request_payment
from checkout.selectors import cart_with_order
from cart.models import Cart
from cart.pricing import ShippingOption, TaxLine, price_cart, shipping_options
from cart.validation import clean_country_param
from cart.selectors import cart_with_lines, lines_of
from currencies.money import money_json
from currencies.rates import rate_json
from taxes.selectors import rate_text
from inventory.selectors import availability_of
from orders import selectors as order_selectors
from orders.api import order_json
from orders.api_schema import OrderSerializer
from orders.selectors import guest_link
from shop.api_base import ScopedThrottle, ShopAPIView, body_object
from shop.client_ip import client_key
from shop.api_schema import error_responses
from shop.errors import CheckoutIncomplete, InvalidInput, NotFound


def order_summary(cart: Cart) -> dict[str, Any] | None:
    order = getattr(cart, "order", None) if cart.status == Cart.Status.COMPLETED else None
    if order is None:
        return None
    return {"number": order.number, "status": order.status, "url": guest_link(order, view="api:order-detail")}


def shipping_option_json(option: ShippingOption) -> dict[str, Any]:
    return {
        "code": option.code,
        "name": option.name,
        "price": money_json(option.price),
        "regular_price": money_json(option.regular_price),
        "estimated_delivery": {"min_days": option.min_days, "max_days": option.max_days},
        "free_over": money_json(option.free_over) if option.free_over is not None else None,
    }


def tax_line_json(line: TaxLine) -> dict[str, Any]:
    return {"name": line.name, "rate": rate_text(line.rate), "amount": money_json(line.amount)}


def cart_json(cart_id, *, cart: Cart | None = None) -> dict[str, Any]:
    """The Cart of docs/api.md, priced by cart.pricing.price_cart.

    `cart`: the cart a write of this request just saved (as checkout start and cancel
    return it), so it is not read again: only its lines are, in one query. A cart that
    is not completed has no order to show."""
    if cart is not None and cart.status != Cart.Status.COMPLETED:
        lines = lines_of(cart)
    else:
        cart = cart_with_order(cart_id)
        lines = list(cart.lines.all())
    totals = price_cart(cart, lines)
    return {
        "id": str(cart.pk),
        "status": cart.status,
        "currency": cart.currency,
        "exchange_rate": rate_json(totals.rate),
        "lines": [
            {
                "id": p.line.pk,
                "sku": p.line.variant.sku,
                "name": str(p.line.variant),
                "quantity": p.line.quantity,
                "unit_price": money_json(p.unit_price),
                "line_total": money_json(p.line_total),
            }
            for p in totals.lines
        ],
        "subtotal": money_json(totals.subtotal),
        "shipping": money_json(totals.shipping),
        "tax": money_json(totals.tax),
        "tax_lines": [tax_line_json(line) for line in totals.tax_lines],
        "prices_include_tax": totals.prices_include_tax,
        "discount": money_json(totals.discount),
        "discount_code": cart.discount_code or None,
        "discount_problem": (
            {"reason": totals.discount_problem, "message": totals.discount_message} if totals.discount_problem else None
        ),
        "total": money_json(totals.total),
        "email": cart.email or None,
        "shipping_address": cart.shipping_address,
        "billing_address": cart.billing_address,
        "shipping_method": cart.shipping_method or None,
        "checkout_step": cart.checkout_step,
        "reservation_expires_at": cart.reservation_expires_at.isoformat() if cart.reservation_expires_at and cart.status == Cart.Status.CHECKOUT else None,
        "order": order_summary(cart),
    }


class CartCreateView(ShopAPIView):
    @extend_schema(
        request=CartCreateRequestSerializer,
        responses={201: CartSerializer, **error_responses(400, 429)},
        summary="Create a cart",
    )
    def post(self, request: Request) -> Response:
        body = body_object(request)
        user_id = request.user.pk if request.user.is_authenticated else None
        cart = services.create_cart(currency=body.get("currency"), user_id=user_id)
        return Response(cart_json(cart.pk), status=201)


class CartDetailView(ShopAPIView):
    @extend_schema(responses={200: CartSerializer, **error_responses(404, 429)}, summary="A cart with its totals")
    def get(self, request: Request, cart_id) -> Response:
        return Response(cart_json(cart_id))

    @extend_schema(
        request=CartUpdateRequestSerializer,
        responses={200: CartSerializer, **error_responses(400, 404, 409, 429)},
        summary="Change the cart's currency or discount code",
    )
    def patch(self, request: Request, cart_id) -> Response:
        body = body_object(request)
        fields = {key: body[key] for key in ("currency", "discount_code") if key in body}
        checkout_services.update_cart(cart_id=cart_id, **fields)
        return Response(cart_json(cart_id))


class CartLinesView(ShopAPIView):
    @extend_schema(
        request=LineAddRequestSerializer,
        responses={201: CartSerializer, **error_responses(400, 404, 409, 429)},
        summary="Add a SKU",
    )
    def post(self, request: Request, cart_id) -> Response:
        body = body_object(request)
        services.add_line(cart_id=cart_id, sku=body.get("sku"), quantity=body.get("quantity"))
        return Response(cart_json(cart_id), status=201)


class CartLineDetailView(ShopAPIView):
    @extend_schema(
        request=LineQuantityRequestSerializer,
        responses={200: CartSerializer, **error_responses(400, 404, 409, 429)},
        summary="Set a line's quantity",
    )
    def patch(self, request: Request, cart_id, line_id) -> Response:
        body = body_object(request)
        services.set_line_quantity(cart_id=cart_id, line_id=line_id, quantity=body.get("quantity"))
        return Response(cart_json(cart_id))

    @extend_schema(responses={200: CartSerializer, **error_responses(404, 409, 429)}, summary="Remove a line")
    def delete(self, request: Request, cart_id, line_id) -> Response:
        services.remove_line(cart_id=cart_id, line_id=line_id)
        return Response(cart_json(cart_id))


class CartStockView(ShopAPIView):
    @extend_schema(responses={200: CartStockSerializer, **error_responses(404, 429)}, summary="Availability of each line")
    def get(self, request: Request, cart_id) -> Response:
        cart = cart_with_lines(cart_id)
        lines = list(cart.lines.all())
        # A cart in checkout holds its own units; they count as available to it.
        availability = availability_of([line.variant_id for line in lines], excluding_holder_id=cart.pk)
        return Response(
            {
                "items": [
                    {
                        "sku": line.variant.sku,
                        "requested": line.quantity,
                        "available": availability[line.variant_id][0],
                        "status": availability[line.variant_id][1],
                    }
                    for line in lines
                ]
            }
        )


class CheckoutView(ShopAPIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "checkout"

    @extend_schema(
        request=None,
        responses={200: CartSerializer, **error_responses(400, 404, 409, 429)},
        summary="Start checkout: reserve every line",
    )
    def post(self, request: Request, cart_id) -> Response:
        cart = checkout_services.start_checkout(cart_id=cart_id, client=client_key(request))
        return Response(cart_json(cart.pk, cart=cart))  # as the request saved it

    @extend_schema(
        request=CheckoutUpdateRequestSerializer,
        responses={200: CartSerializer, **error_responses(400, 404, 409, 429)},
        summary="Contact, addresses, shipping method, discount code",
    )
    def patch(self, request: Request, cart_id) -> Response:
        body = body_object(request)
        fields = {
            k: body[k] for k in ("email", "shipping_address", "billing_address", "shipping_method", "discount_code") if k in body
        }
        checkout_services.update_checkout(cart_id=cart_id, **fields)
        return Response(cart_json(cart_id))

    @extend_schema(
        responses={200: CartSerializer, **error_responses(404, 409, 429)}, summary="Cancel checkout: release the reservation"
    )
    def delete(self, request: Request, cart_id) -> Response:
        cart = checkout_services.cancel_checkout(cart_id=cart_id)
        return Response(cart_json(cart.pk, cart=cart))  # as the request saved it


class ShippingMethodsView(ShopAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("cart", OpenApiTypes.UUID, description="The methods for this cart's shipping address, priced for it."),
            OpenApiParameter("country", OpenApiTypes.STR, description="Without a cart: the methods for this country (ISO 3166 alpha-2), in USD."),
        ],
        responses={200: ShippingMethodSerializer(many=True), **error_responses(400, 404, 429)},
        summary="Shipping methods for a cart's address",
    )
    def get(self, request: Request) -> Response:
        cart_id = request.query_params.get("cart")
        if cart_id:
            cart = cart_with_lines(cart_id)
            if not (cart.shipping_address or {}).get("country"):
                raise CheckoutIncomplete(
                    "Enter the shipping address first: the methods depend on it.",
                    details={"missing": ["shipping_address"], "shipping_address": ["Enter a shipping address."]},
                )
        else:
            country = clean_country_param(request.query_params.get("country"))
            if country is None:
                raise InvalidInput(
                    "Give a cart (or a country): shipping methods depend on the address.",
                    details={"cart": ["Give the id of a cart with a shipping address, or a country."]},
                )
            cart = Cart(currency=settings.DEFAULT_CURRENCY, shipping_address={"country": country})
        return Response([shipping_option_json(option) for option in shipping_options(cart)])


class PaymentView(ShopAPIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "checkout"

    @extend_schema(
        request=PaymentRequestSerializer,
        responses={200: PaymentSerializer, **error_responses(400, 402, 404, 409, 429, 502)},
        summary="Create or update the checkout's PaymentIntent; confirm it with a payment method",
    )
    def post(self, request: Request, cart_id) -> Response:
        body = body_object(request)
        # The signed-in shopper may pay with their own saved cards, and no one else's.
        user_id = request.user.pk if request.user.is_authenticated else None
        result = request_payment(
            cart_id=cart_id, payment_method=body.get("payment_method"), user_id=user_id, save_card=body.get("save_card") is True
        )
        return Response(
            {
                "payment_intent_id": result.payment_intent_id,
                "client_secret": result.client_secret,
                "status": result.status,
                "amount": money_json(result.amount),
                "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
                "cart": cart_json(result.cart_id),
            }
        )


class OrderCancelView(ShopAPIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "checkout"

    @extend_schema(
        request=None,
        parameters=[OpenApiParameter("token", OpenApiTypes.STR, description="From the order's `url`: lets a guest cancel it.")],
        responses={200: OrderSerializer, **error_responses(404, 409, 429)},
        summary="Cancel an order (its customer, or a guest with the token) while it is not yet being prepared",
    )
    def post(self, request: Request, number: str) -> Response:
        user_id = request.user.pk if request.user.is_authenticated else None
        order = order_selectors.order_for_viewer(number=number, user_id=user_id, token=request.query_params.get("token"))
        if order is None:
            raise NotFound("There is no such order.")
        cancel_order(order_id=order.pk, by_customer=True, actor_id=user_id)
        return Response(order_json(order_selectors.order_with_details(number)))  # as it is now
