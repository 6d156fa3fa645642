"""OpenAPI documentation of the currencies endpoint's JSON: used only in `@extend_schema`
of currencies/api.py; the response is built by currencies.rates.currency_table."""
from __future__ import annotations

from rest_framework import serializers


class CurrencySerializer(serializers.Serializer):
    code = serializers.CharField(min_length=3, max_length=3)
    rate = serializers.CharField(help_text="Units of this currency per 1 USD, as a decimal string.")
    updated_at = serializers.DateTimeField(allow_null=True, help_text="When the rate was set; null before any rate is stored.")
    stale = serializers.BooleanField(help_text="True when the rate is older than the shop allows.")

    class Meta:
        ref_name = "Currency"


class CurrenciesSerializer(serializers.Serializer):
    base = serializers.CharField(help_text="Always USD: every price is set in it.")
    currencies = CurrencySerializer(many=True)

    class Meta:
        ref_name = "Currencies"
