"""Exchange rates as the rest of the shop reads them: units of a currency per 1 USD.

The rates live in the database (currencies.models.CurrencyRate, written only by
currencies.services). Pages ask for them on every request, so the whole table (one row per
currency) is read once and kept in the cache under a generation token: every write swaps
the token after its transaction commits, so with a shared cache (Redis) no process serves a
replaced rate once the write has committed. RATES_CACHE_SECONDS bounds how long a rate can
outlive its replacement where the swap cannot reach (a per-process cache in development, a
lost cache write).

Within one web request the table is read from the cache once (a request asks for rates
several times: to validate a currency, to fix a checkout's rate, to price the response),
then kept for the rest of that request only; a rate written during the request is read
again.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from currencies.models import CurrencyRate, ExchangeRateSet
from shop.errors import RateUnavailable, UnsupportedCurrency
from shop.request_memo import forget, remembered
from shop.text import truncate

log = logging.getLogger(__name__)

_GENERATION_KEY = "shop:rates:generation"
_TABLE_KEY = "shop:rates:table:{generation}"



@dataclass(frozen=True)
class RateInfo:
    currency: str
    rate: Decimal
    as_of: datetime  # when the rate in force was last set or confirmed
    provider: str  # the feed's provider, or "manual" for a staff override
    overridden: bool
    published_at: datetime | None = None  # when the provider published the feed rate, if it says

    @property
    def dated(self) -> datetime:
        """The moment the rate in force describes, from which its age counts: an
        override's time, else the feed's publication (a feed re-fetched unchanged for days
        still carries old rates), never later than the last confirmation (clock skew)."""
        if self.overridden or self.published_at is None:
            return self.as_of
        return min(self.published_at, self.as_of)

    def is_stale(self, now: datetime | None = None) -> bool:
        return (now or timezone.now()) - self.dated > settings.RATES_STALE_AFTER


def rate_json(rate: Decimal) -> str:
    """An exchange rate as the API writes it (carts, orders, currencies): the exact
    decimal without trailing zeros, never in exponent form ("0.9215", "151.37", "1")."""
    return f"{Decimal(rate).normalize():f}"


def rate_info_for(row: Any) -> RateInfo:
    """The RateInfo of a CurrencyRate row (its rate_set loaded)."""
    return RateInfo(
        currency=row.currency,
        rate=row.rate,
        as_of=row.as_of,
        provider="manual" if row.is_overridden else row.rate_set.provider,
        overridden=row.is_overridden,
        published_at=row.rate_set.published_at,
    )


def _load_table() -> dict[str, RateInfo]:
    return {row.currency: rate_info_for(row) for row in CurrencyRate.objects.select_related("rate_set")}


def _generation() -> str:
    generation = cache.get(_GENERATION_KEY)
    if generation is None:
        cache.add(_GENERATION_KEY, uuid.uuid4().hex, None)
        generation = cache.get(_GENERATION_KEY)
    return generation


def rate_table() -> dict[str, RateInfo]:
    """Every stored rate by currency code, from the cache when it is there (once per web
    request)."""
    return remembered(("rates", "table"), _cached_table)


def _cached_table() -> dict[str, RateInfo]:
    try:
        key = _TABLE_KEY.format(generation=_generation())
        table = cache.get(key)
    except Exception:  # a cache outage must not take prices down with it
        log.warning("rate cache unavailable; reading rates from the database", exc_info=True)
        return _load_table()
    if table is None:
        table = _load_table()
        try:
            cache.set(key, table, settings.RATES_CACHE_SECONDS)
        except Exception:
            log.warning("could not cache the rate table", exc_info=True)
    return table


def invalidate_rate_cache() -> None:
    """Make every process read the rates again: now (for this transaction's own reads)
    and once more after commit (so a reader that raced the write cannot keep old rates)."""

    def swap() -> None:
        forget("rates")
        try:
            cache.set(_GENERATION_KEY, uuid.uuid4().hex, None)
        except Exception:
            log.warning("could not invalidate the rate cache; it expires in %ss", settings.RATES_CACHE_SECONDS, exc_info=True)

    swap()
    transaction.on_commit(swap)


def supported_currencies() -> tuple[str, ...]:
    """The configured currencies a shopper can use now: the base, and every other one that
    has a rate."""
    table = rate_table()
    return tuple(code for code in settings.CURRENCIES if code == settings.BASE_CURRENCY or code in table)


def validate_currency(code: Any) -> str:
    """An ISO code the shop sells in ("eur" -> "EUR"); anything else is UnsupportedCurrency."""
    cleaned = code.strip().upper() if isinstance(code, str) else ""
    if cleaned == settings.BASE_CURRENCY and cleaned in settings.CURRENCIES:
        return cleaned  # the base needs no rate: no look at the rate table
    supported = supported_currencies()
    if cleaned in supported:
        return cleaned
    listed = ", ".join(supported)
    if cleaned in settings.CURRENCIES:
        raise RateUnavailable(
            gettext("Prices in %(currency)s are not available right now. Choose one of %(listed)s.") % {"currency": cleaned, "listed": listed},
            details={"currency": [f"No exchange rate for {cleaned} yet. Supported: {listed}."]},
        )
    shown = truncate(cleaned, 20)  # never echo a huge input whole
    raise UnsupportedCurrency(
        gettext("%(currency)s is not supported. Choose one of %(listed)s.") % {"currency": shown, "listed": listed}
        if shown
        else gettext("That currency is not supported. Choose one of %(listed)s.") % {"listed": listed},
        details={"currency": [f"Supported: {listed}."]},
    )


def current_rate(currency: str) -> Decimal:
    """Units of `currency` per 1 USD, as the shop prices today (1 for the base)."""
    currency = validate_currency(currency)
    if currency == settings.BASE_CURRENCY:
        return Decimal(1)
    return rate_table()[currency].rate


def rate_info(currency: str) -> RateInfo | None:
    return rate_table().get(currency)


def currency_table() -> list[dict]:
    """Every supported currency with its rate and when that rate was set (docs/api.md
    `GET /api/v1/currencies/`). The base's rate is 1, as of the newest stored rate."""
    table = rate_table()
    now = timezone.now()
    newest = max((info.as_of for info in table.values()), default=None)
    rows = []
    for code in supported_currencies():
        info = table.get(code)
        if code == settings.BASE_CURRENCY or info is None:
            rows.append({"code": code, "rate": "1", "updated_at": newest.isoformat() if newest else None, "stale": False})
        else:
            rows.append(
                {
                    "code": code,
                    "rate": rate_json(info.rate),
                    "updated_at": info.as_of.isoformat(),
                    "stale": info.is_stale(now),
                }
            )
    return rows


def unquoted_currencies(provider: str | None = None) -> list[str]:
    """Configured currencies that the provider's latest set does not quote (the ECB has no
    KWD): they keep their last rate, a staff override or an older feed's, and grow stale.
    Empty until the provider has delivered a set."""
    name = (provider or settings.EXCHANGE_RATES_PROVIDER).strip().lower()
    latest = ExchangeRateSet.objects.filter(provider=name).order_by("-fetched_at", "-id").first()
    if latest is None:
        return []
    quoted = set(latest.rates.values_list("currency", flat=True))
    return [code for code in settings.CURRENCIES if code != settings.BASE_CURRENCY and code not in quoted]


def stale_or_missing(now: datetime | None = None) -> tuple[list[RateInfo], list[str]]:
    """(stale rates, configured currencies without any rate), for alerts and admin."""
    table = _load_table()  # straight from the database: alerts must not trust a cache
    now = now or timezone.now()
    stale = [table[code] for code in settings.CURRENCIES if code in table and table[code].is_stale(now)]
    missing = [code for code in settings.CURRENCIES if code != settings.BASE_CURRENCY and code not in table]
    return stale, missing
