"""The page language as the browser keeps it: Django's language cookie (read by
LocaleMiddleware), set here the way Django's set_language view sets it."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils import translation


def use_language(request: HttpRequest, response: HttpResponseBase, language: str) -> None:
    """Make `language` the page language: for the rest of this request (messages added
    after it) and, through the language cookie on `response`, for the next ones."""
    translation.activate(language)
    request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
