"""OpenAPI documentation of the cart, checkout and payment endpoints' JSON (docs/api.md):
serializers used only in `@extend_schema` of checkout/api.py; responses are built by
checkout.api.cart_json and the views."""
from __future__ import annotations

from rest_framework import serializers

from cart.models import Cart
from orders.models import Order
from catalog.api_schema import STOCK_STATUSES
from shop.api_schema import AddressSerializer, EnumString, MoneySerializer, TaxLineSerializer, WholeBody


class CartLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1, max_value=99)
    unit_price = MoneySerializer()
    line_total = MoneySerializer()

    class Meta:
        ref_name = "CartLine"


class OrderSummarySerializer(serializers.Serializer):
    number = serializers.CharField(help_text="Like ORD-2026-00123.")
    status = EnumString(Order.Status.values, enum_name="OrderStatus")
    url = serializers.CharField(help_text="The order's API path with the token that lets a guest read it.")

    class Meta:
        ref_name = "OrderSummary"


class DiscountProblemSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="A reason of discount_not_applicable.")
    message = serializers.CharField()

    class Meta:
        ref_name = "DiscountProblem"


class CartSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Unguessable; knowing it is the right to use the cart.")
    status = EnumString(Cart.Status.values, enum_name="CartStatus")
    currency = serializers.CharField(min_length=3, max_length=3)
    exchange_rate = serializers.CharField(help_text="Units of the cart's currency per 1 USD used for its prices.")
    lines = CartLineSerializer(many=True)
    subtotal = MoneySerializer()
    shipping = MoneySerializer()
    tax = MoneySerializer(help_text="Added to the total, or (prices_include_tax) the part of it that is tax.")
    tax_lines = TaxLineSerializer(many=True, help_text="Tax by name and rate; empty until the shipping address is known.")
    prices_include_tax = serializers.BooleanField()
    discount = MoneySerializer()
    discount_code = serializers.CharField(allow_null=True)
    discount_problem = DiscountProblemSerializer(allow_null=True, help_text="Why the cart's code gives nothing now.")
    total = MoneySerializer()
    email = serializers.EmailField(allow_null=True)
    shipping_address = AddressSerializer(allow_null=True)
    billing_address = AddressSerializer(allow_null=True)
    shipping_method = serializers.CharField(allow_null=True, help_text="A shipping method's code.")
    checkout_step = EnumString(Cart.Step.values, enum_name="CheckoutStep")
    reservation_expires_at = serializers.DateTimeField(allow_null=True, help_text="Set while in checkout.")
    order = OrderSummarySerializer(allow_null=True, help_text="The order, once the cart is completed.")

    class Meta:
        ref_name = "Cart"


class CartCreateRequestSerializer(serializers.Serializer):
    currency = serializers.CharField(required=False, help_text="ISO 4217; the shop's default when left out.")

    class Meta:
        ref_name = "CartCreateRequest"


class CartUpdateRequestSerializer(WholeBody, serializers.Serializer):
    currency = serializers.CharField(required=False, help_text="ISO 4217; only while the cart is active.")
    discount_code = serializers.CharField(
        required=False, allow_blank=True, help_text='The one code of the cart; "" removes it. Also while in checkout.'
    )

    class Meta:
        ref_name = "CartUpdateRequest"


class LineAddRequestSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1, max_value=99, help_text="Added to the line when the SKU is already in the cart.")

    class Meta:
        ref_name = "LineAddRequest"


class LineQuantityRequestSerializer(WholeBody, serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=99)

    class Meta:
        ref_name = "LineQuantityRequest"


class CheckoutUpdateRequestSerializer(WholeBody, serializers.Serializer):
    email = serializers.EmailField(required=False)
    shipping_address = AddressSerializer(required=False)
    billing_address = AddressSerializer(required=False, allow_null=True, help_text="null: same as shipping.")
    shipping_method = serializers.CharField(required=False, help_text="A code from GET /api/v1/shipping-methods/.")
    discount_code = serializers.CharField(required=False, allow_blank=True, help_text='"" removes it.')

    class Meta:
        ref_name = "CheckoutUpdateRequest"


class StockItemSerializer(serializers.Serializer):
    sku = serializers.CharField()
    requested = serializers.IntegerField()
    available = serializers.IntegerField(help_text="Units this cart can have, its own reservations included.")
    status = EnumString(STOCK_STATUSES, enum_name="StockStatus")

    class Meta:
        ref_name = "StockItem"


class CartStockSerializer(serializers.Serializer):
    items = StockItemSerializer(many=True)

    class Meta:
        ref_name = "CartStock"


class EstimatedDeliverySerializer(serializers.Serializer):
    min_days = serializers.IntegerField()
    max_days = serializers.IntegerField()

    class Meta:
        ref_name = "EstimatedDelivery"


class ShippingMethodSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    price = MoneySerializer(help_text="What this cart pays for it, in its currency (0 when shipping is free for it).")
    regular_price = MoneySerializer(help_text="The method's price before any free-shipping threshold or code.")
    estimated_delivery = EstimatedDeliverySerializer()
    free_over = MoneySerializer(allow_null=True, help_text="Free when the subtotal after discounts reaches this.")

    class Meta:
        ref_name = "ShippingMethod"


class PaymentRequestSerializer(serializers.Serializer):
    payment_method = serializers.CharField(
        required=False, help_text="A Stripe PaymentMethod id (pm_...); with it the server confirms the payment."
    )
    save_card = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Signed-in customers: save the new card `payment_method` (pm_... or a Stripe.js token tok_...) to their account before paying with it.",
    )

    class Meta:
        ref_name = "PaymentRequest"


class PaymentSerializer(serializers.Serializer):
    payment_intent_id = serializers.CharField()
    client_secret = serializers.CharField(
        allow_blank=True, help_text="For Stripe.js (3-D Secure); empty when Stripe could not be asked for it."
    )
    status = serializers.CharField(
        help_text="The PaymentIntent's status as Stripe reports it (requires_payment_method, requires_action, "
        "processing, succeeded, ...)."
    )
    amount = MoneySerializer(help_text="The server-computed total being charged.")
    publishable_key = serializers.CharField()
    cart = CartSerializer(help_text="`completed` with its `order` when the payment succeeded.")

    class Meta:
        ref_name = "Payment"
