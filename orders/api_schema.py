"""OpenAPI documentation of the order endpoints' JSON (docs/api.md Orders): serializers used
only in `@extend_schema` of orders/api.py; responses are built by orders.api.order_json."""
from __future__ import annotations

from rest_framework import serializers

from orders.models import Order
from shop.api_schema import AddressSerializer, EnumString, MoneySerializer, TaxLineSerializer


class OrderLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    attributes = serializers.DictField()
    quantity = serializers.IntegerField(min_value=1)
    unit_price = MoneySerializer()
    unit_price_usd = MoneySerializer()
    line_total = MoneySerializer()
    discount = MoneySerializer(help_text="The line's share of the order's discount.")
    tax = MoneySerializer(help_text="The line's tax, on its total after its discount.")
    tax_rate = serializers.CharField(allow_null=True, help_text='Percent, "19.00"; null when untaxed.')

    class Meta:
        ref_name = "OrderLine"


class OrderEventSerializer(serializers.Serializer):
    status = EnumString(Order.Status.values, enum_name="OrderStatus")
    at = serializers.DateTimeField()
    note = serializers.CharField(help_text="What happened, in the shopper's words.")

    class Meta:
        ref_name = "OrderEvent"


class FulfilmentLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()

    class Meta:
        ref_name = "FulfilmentLine"


class FulfilmentSerializer(serializers.Serializer):
    carrier = serializers.CharField(help_text="dhl, ups, fedex, usps, royal_mail, dpd or other.")
    tracking_number = serializers.CharField()
    tracking_url = serializers.URLField(allow_null=True, help_text="The carrier's tracking page, when the shop knows it.")
    lines = FulfilmentLineSerializer(many=True)
    shipped_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "Fulfilment"


class OrderRefundSerializer(serializers.Serializer):
    amount = MoneySerializer()
    at = serializers.DateTimeField()
    reason = serializers.CharField(help_text="Why, as staff gave it, or \"Refunded at Stripe\" for a refund made there.")

    class Meta:
        ref_name = "OrderRefund"


class OrderSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="Like ORD-2026-00123.")
    status = EnumString(Order.Status.values, enum_name="OrderStatus")
    payment_status = EnumString(Order.PaymentStatus.values, enum_name="OrderPaymentStatus")
    currency = serializers.CharField(min_length=3, max_length=3)
    exchange_rate = serializers.CharField(help_text="Units of the order's currency per 1 USD, fixed at checkout.")
    lines = OrderLineSerializer(many=True)
    subtotal = MoneySerializer()
    shipping = MoneySerializer()
    tax = MoneySerializer()
    tax_lines = TaxLineSerializer(many=True)
    prices_include_tax = serializers.BooleanField()
    discount = MoneySerializer()
    discount_code = serializers.CharField(allow_null=True)
    total = MoneySerializer()
    refunded = MoneySerializer()
    email = serializers.EmailField()
    shipping_address = AddressSerializer()
    billing_address = AddressSerializer(allow_null=True)
    shipping_method = serializers.CharField(allow_null=True)
    shipping_method_name = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    fulfilments = FulfilmentSerializer(many=True, help_text="The parcels sent, oldest first.")
    refunds = OrderRefundSerializer(many=True, help_text="What came back to the card, oldest first; the sum is `refunded`.")
    events = OrderEventSerializer(many=True, help_text="Every status the order has had, oldest first.")

    class Meta:
        ref_name = "Order"
