"""Small pieces every API view shares: body parsing and currency choice."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request

from shop import rates
from shop.errors import InvalidInput


def body_object(request: Request) -> dict[str, Any]:
    """The JSON body as an object; anything else is a 400 `invalid`."""
    data = request.data
    if data is None or data == {} and not request.body:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.", details={"body": ["Must be a JSON object."]})
    return data


def query_currency(request: Request) -> str:
    """`?currency=` validated, else the base currency."""
    code = request.query_params.get("currency")
    if code is None:
        return settings.DEFAULT_CURRENCY
    return rates.validate_currency(code)
