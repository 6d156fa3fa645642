"""The API's error shape (docs/api.md): {"error": {"code", "message", "details"}}, built
here and nowhere else: by DRF views through exception_handler, by the few plain Django
views of the API (404s) and the input guards through error_json."""
from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from shop.errors import ShopError

server_errors = logging.getLogger("django.request")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(code: str, message: str, http_status: int, details: dict[str, Any] | None = None) -> Response:
    """The error shape as a DRF response."""
    return Response(error_body(code, message, details), status=http_status)


def error_json(code: str, message: str, http_status: int, details: dict[str, Any] | None = None) -> JsonResponse:
    """The error shape for a plain Django view."""
    return JsonResponse(error_body(code, message, details), status=http_status)


def not_found_json() -> JsonResponse:
    return error_json("not_found", "Not found.", 404)


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        flat: list[Any] = []
        for item in detail:
            value = _flatten(item)
            flat.extend(value if isinstance(value, list) else [value])
        return flat
    return [str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ShopError):
        response = error_response(exc.code, exc.message, exc.status, exc.details)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return error_response("not_found", "Not found.", status.HTTP_404_NOT_FOUND)
    if isinstance(exc, exceptions.Throttled):
        response = error_response(
            "rate_limited", "Too many requests. Try again shortly.", status.HTTP_429_TOO_MANY_REQUESTS,
            {"retry_after": exc.wait},
        )
        if exc.wait:
            response["Retry-After"] = str(int(exc.wait) + 1)
        return response
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        details = _flatten(details)
        first = next(iter(details.items()), None)
        message = f"{first[0]}: {first[1][0]}" if first and first[1] else "The request is not valid."
        return error_response("invalid", message, status.HTTP_400_BAD_REQUEST, details)
    if isinstance(exc, exceptions.ParseError):
        return error_response(
            "invalid", f"The request body is not valid JSON: {exc.detail}", 400, {"body": ["Malformed JSON."]}
        )
    if isinstance(exc, exceptions.UnsupportedMediaType):
        # The API speaks JSON only; any other body is bad input, not a new error code.
        return error_response(
            "invalid", "Send the body as JSON with Content-Type: application/json.", 400,
            {"body": [str(exc.detail)]},
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        if isinstance(exc, PermissionDenied):
            return error_response("not_found", "Not found.", 404)
        return _server_error(exc, context)
    code = getattr(exc, "default_code", "error")
    message = str(getattr(exc, "detail", "")) or "Request failed."
    shaped = error_response(code, message, response.status_code)
    for header in ("Allow", "WWW-Authenticate", "Retry-After"):
        if header in response:
            shaped[header] = response[header]
    return shaped


def _server_error(exc: Exception, context: dict[str, Any]) -> Response | None:
    """An unexpected exception: logged as Django logs a 500 (so admins are mailed), then
    answered in the error shape. With DEBUG the exception propagates to the debug page."""
    if settings.DEBUG:
        return None
    request = getattr(context.get("request"), "_request", None)
    server_errors.error(
        "Internal Server Error: %s", getattr(request, "path", "?"), exc_info=exc,
        extra={"status_code": 500, "request": request},
    )
    return error_response(
        "server_error", "Something went wrong on our side. Please try again.",
        status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
