"""Small pieces every API view shares: the base view, its throttles, body parsing."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework import throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from shop.client_ip import client_key
from shop.errors import InvalidInput


class _RatesFromSettings:
    """DRF binds THROTTLE_RATES once at import; reading the setting per request lets a
    changed REST_FRAMEWORK setting (tests, reloads) take effect."""

    scope: str | None

    def get_rate(self) -> str | None:
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        return super().get_rate()  # type: ignore[misc]

    def get_ident(self, request: Request) -> str:
        """The client as every limit counts it (shop.client_ip: TRUSTED_PROXY_COUNT), not
        DRF's reading of X-Forwarded-For."""
        return client_key(request)


class AnonThrottle(_RatesFromSettings, throttling.AnonRateThrottle):
    pass


class UserThrottle(_RatesFromSettings, throttling.UserRateThrottle):
    pass


class ScopedThrottle(_RatesFromSettings, throttling.ScopedRateThrottle):
    pass


class ShopAPIView(APIView):
    """Every shop endpoint: anonymous and per-user rate limits (429 `rate_limited`)."""

    throttle_classes = [AnonThrottle, UserThrottle]


def body_object(request: Request) -> dict[str, Any]:
    """The JSON body as an object; an empty body is `{}`; anything else (malformed JSON,
    a list, a string, `null`) is a 400 `invalid` raised before anything is written."""
    try:
        raw = request.body
    except RequestDataTooBig:
        raise InvalidInput("The request body is too large.", details={"body": ["Too large."]}) from None
    if not raw:
        return {}
    data = request.data  # malformed JSON raises ParseError -> 400 invalid
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.", details={"body": ["Must be a JSON object."]})
    return data
