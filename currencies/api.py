"""The currencies endpoint of the API (what shoppers may pay in, at which rates), and
the `?currency=` parameter other endpoints take."""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from currencies import rates
from currencies.api_schema import CurrenciesSerializer
from shop.api_base import ShopAPIView
from shop.api_schema import error_responses


def query_currency(request: Request) -> str:
    """`?currency=` of an API request, validated (400 `unsupported_currency`), else the
    default currency."""
    code = request.query_params.get("currency")
    if code is None:
        return settings.DEFAULT_CURRENCY
    return rates.validate_currency(code)


class CurrencyListView(ShopAPIView):
    @extend_schema(responses={200: CurrenciesSerializer, **error_responses(429)}, summary="Supported currencies and their rates against USD")
    def get(self, request: Request) -> Response:
        return Response({"base": "USD", "currencies": rates.currency_table()})
