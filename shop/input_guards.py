"""Input no part of the shop can use, refused before any view sees it.

A NUL character cannot be stored in PostgreSQL text, so before this guard an order
number of `%00` (`/api/v1/orders/%00/`) or a form field holding one reached the
database and became a 500. RejectNulBytesMiddleware answers 400 instead: in the API's
error shape under /api/, Django's "Bad Request" page elsewhere. A cookie holding one is
dropped rather than refused (the browser would send it again on every request). JSON
bodies are checked by the API's parser (shop.parsers).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.defaults import bad_request

from shop.api_errors import error_json
from shop.text import truncate

log = logging.getLogger(__name__)

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
API_PREFIX = "/api/"


def _has_nul(pairs: Iterable[tuple[str, list[str]]]) -> str | None:
    for key, values in pairs:
        if NUL in key or any(NUL in value for value in values if isinstance(value, str)):
            return key.replace(NUL, "")
    return None


class NulByteRejected(Exception):
    pass


class RejectNulBytesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = self._where(request)
        if where is not None:
            log.info("refused a request with a NUL character in its %s", where)
            return self._refuse(request, where)
        return self.get_response(request)

    def _where(self, request: HttpRequest) -> str | None:
        for name in [name for name in request.COOKIES if NUL in name or NUL in request.COOKIES[name]]:
            del request.COOKIES[name]
        if NUL in request.path_info or NUL in request.path:
            return "path"
        field = _has_nul(request.GET.lists())
        if field is not None:
            return f"query parameter {truncate(field, 40)!r}" if field else "query"
        if request.method == "POST" and request.content_type in FORM_TYPES:
            field = _has_nul(request.POST.lists())
            if field is not None:
                return f"field {truncate(field, 40)!r}" if field else "form"
        return None

    def _refuse(self, request: HttpRequest, where: str) -> HttpResponse:
        message = _("The request contains a NUL character, which is never valid here.")
        if request.path.startswith(API_PREFIX):
            return error_json("invalid", message, 400, {where: [message]})
        return bad_request(request, NulByteRejected(message))
