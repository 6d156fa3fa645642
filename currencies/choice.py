"""Which currency and locale a shopper sees.

Currency: the choice stored in the session, else the signed-in user's saved choice, else
the first Accept-Language entry whose country uses a supported currency (de-DE -> EUR,
en-GB -> GBP, ja -> JPY; a tag Babel does not know goes by its region: en-KW -> KWD),
else USD. Locale (separators, symbol placement): the first Accept-Language entry Babel
knows (for an unknown tag, its language: en-KW -> en), else en_US. Entries with q=0 mean
"not this one" and are ignored.

Both depend on Accept-Language, so every response the middleware sees varies on it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language
from django.utils.translation.trans_real import parse_accept_lang_header

from currencies import rates
from currencies.models import ShopperPreference

SESSION_KEY = "currency"
DEFAULT_LOCALE = "en_US"
_MAX_HEADER = 500  # longer Accept-Language headers are ignored, as Django does


@lru_cache(maxsize=1024)
def _babel_locale(tag: str):
    from babel.core import Locale, UnknownLocaleError

    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def _territory(locale) -> str | None:
    if locale.territory:
        return locale.territory
    from babel.core import get_global

    likely = get_global("likely_subtags").get(locale.language)  # "ja" -> "ja_Jpan_JP"
    parts = likely.split("_") if likely else []
    return next((part for part in parts[1:] if len(part) == 2 and part.isupper()), None)


@dataclass(frozen=True)
class _AcceptedLanguage:
    locale: Any  # Babel's locale for formatting, or None
    territory: str | None  # the country whose currency it suggests


def _accepted_language(tag: str) -> _AcceptedLanguage | None:
    locale = _babel_locale(tag)
    if locale is not None:
        return _AcceptedLanguage(locale, _territory(locale))
    # A tag Babel does not know (en-KW): format by its language, price by its region.
    subtags = tag.replace("_", "-").split("-")
    region = next((part.upper() for part in subtags[1:] if len(part) == 2 and part.isalpha()), None)
    language = _babel_locale(subtags[0]) if subtags[0] else None
    if language is None and region is None:
        return None
    return _AcceptedLanguage(language, region or (_territory(language) if language else None))


def _accepted_languages(header: str) -> list[_AcceptedLanguage]:
    if not header or len(header) > _MAX_HEADER:
        return []
    accepted = []
    for tag, quality in parse_accept_lang_header(header):
        if tag == "*" or quality <= 0:  # q=0: the shopper does not want this language
            continue
        entry = _accepted_language(tag)
        if entry is not None:
            accepted.append(entry)
    return accepted


@lru_cache(maxsize=1024)
def locale_from_accept_language(header: str) -> str:
    """The Babel locale name for number formatting ("de_DE", "ja"), else en_US."""
    locale = next((entry.locale for entry in _accepted_languages(header) if entry.locale is not None), None)
    return str(locale) if locale is not None else DEFAULT_LOCALE


# The locale of a page language the shopper picked that their Accept-Language does not name.
LANGUAGE_LOCALES = {"en": DEFAULT_LOCALE, "de": "de_DE", "fr": "fr_FR"}


@lru_cache(maxsize=1024)
def locale_for_language(header: str, language: str, chosen: bool) -> str:
    """The Babel locale for money on a page in `language`: the first Accept-Language entry
    in that language (keeping its region: de-CH formats as Swiss German), else, when the
    shopper `chosen` the language themselves (the language selector), that language's own
    locale; else the header's locale as locale_from_accept_language reads it."""
    entries = _accepted_languages(header)
    for entry in entries:
        if entry.locale is not None and entry.locale.language == language:
            return str(entry.locale)
    if chosen:
        return LANGUAGE_LOCALES.get(language) or str(_babel_locale(language) or DEFAULT_LOCALE)
    return locale_from_accept_language(header)


@lru_cache(maxsize=1024)
def _currency_for_header(header: str, supported: tuple[str, ...], today: date) -> str | None:
    from babel.numbers import get_territory_currencies

    for entry in _accepted_languages(header):
        territory = entry.territory
        if not territory:
            continue
        for code in get_territory_currencies(territory, start_date=today, tender=True):
            if code in supported:
                return code
    return None


def currency_from_accept_language(header: str) -> str | None:
    """The supported currency of the shopper's first language with one, or None."""
    return _currency_for_header(header or "", rates.supported_currencies(), date.today())


def _saved_currency(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return ShopperPreference.objects.filter(user_id=user.pk).values_list("currency", flat=True).first()


def shopper_currency(request: HttpRequest) -> str:
    """The currency this shopper sees prices in (resolved once per request)."""
    cached = getattr(request, "_shop_currency", None)
    if cached is not None:
        return cached
    supported = rates.supported_currencies()
    session = getattr(request, "session", None)
    candidates = (
        lambda: session.get(SESSION_KEY) if session is not None else None,
        lambda: _saved_currency(request),
        lambda: currency_from_accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE", "")),
    )
    code = next((c for c in (candidate() for candidate in candidates) if c in supported), None)
    code = code or (settings.DEFAULT_CURRENCY if settings.DEFAULT_CURRENCY in supported else settings.BASE_CURRENCY)
    request._shop_currency = code  # type: ignore[attr-defined]
    return code


def forget_resolved_currency(request: HttpRequest) -> None:
    """Resolve the currency again on next use (the user behind the request changed)."""
    request.__dict__.pop("_shop_currency", None)


def shopper_locale(request: HttpRequest) -> str:
    locale = getattr(request, "shop_locale", None)
    return locale or locale_from_accept_language(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))


def remember_currency(request: HttpRequest, code: Any) -> str:
    """The shopper picks a currency: kept in the session and, when signed in, on the user
    for their other sessions. Returns the cleaned code; an unsupported one raises
    UnsupportedCurrency and changes nothing. (Their open cart follows it in cart.views.)"""
    code = rates.validate_currency(code)
    request.session[SESSION_KEY] = code
    request._shop_currency = code  # type: ignore[attr-defined]
    if request.user.is_authenticated:
        ShopperPreference.objects.update_or_create(user_id=request.user.pk, defaults={"currency": code})
    return code


class ShopperCurrencyMiddleware:
    """Sets request.shop_locale (for format_money) from Accept-Language. The currency is
    resolved on first use by shopper_currency(request).

    Prices are formatted by the locale, and without a chosen currency priced in the one
    Accept-Language suggests, so responses say `Vary: Accept-Language`: a shared cache
    must not serve one shopper's euros (or separators) to another."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        # LocaleMiddleware ran before: prices follow the page's language (docs/operations.md).
        language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
        chosen = language == (request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or "").split("-")[0].lower()
        request.shop_locale = locale_for_language(request.META.get("HTTP_ACCEPT_LANGUAGE", ""), language, chosen)
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language",))
        return response


def _currency_options(locale: str) -> list[tuple[str, str]]:
    from babel.numbers import get_currency_name

    return [(code, f"{code} – {get_currency_name(code, locale=locale)}") for code in rates.supported_currencies()]


def currency_context(request: HttpRequest) -> dict[str, Any]:
    """Template context for the currency selector; nothing is resolved unless a template
    uses it."""
    return {
        "shop_currency": SimpleLazyObject(lambda: shopper_currency(request)),
        "shop_currency_options": SimpleLazyObject(lambda: _currency_options(shopper_locale(request))),
        "shop_locale": SimpleLazyObject(lambda: shopper_locale(request)),
    }
