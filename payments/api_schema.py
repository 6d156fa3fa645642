"""OpenAPI documentation of the payment endpoint's JSON (API.md Checkout, payment):
serializers used only in `@extend_schema` of payments/api.py; the response is built by
payments.api.PaymentView."""
from __future__ import annotations

from rest_framework import serializers

from cart.api_schema import CartSerializer
from shop.api_schema import MoneySerializer


class PaymentRequestSerializer(serializers.Serializer):
    payment_method = serializers.CharField(
        required=False, help_text="A Stripe PaymentMethod id (pm_...); with it the server confirms the payment."
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
