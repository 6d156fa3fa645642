"""Exchange-rate writes: storing a provider's rates, staff overrides, stale alerts.

The Celery beat task, `manage.py update_rates` and the admin's refresh action all call
`refresh_rates`; the admin's override form calls `set_rate_override`/`clear_rate_override`.
Lock order: CurrencyRate rows by currency code (every writer locks all of them at once).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from currencies import rates
from shop.alerts import alert_staff
from shop.errors import InvalidInput, UnsupportedCurrency
from currencies.models import CurrencyRate, ExchangeRate, ExchangeRateSet, RateOverrideLog
from currencies.providers import FixedProvider, RateFeedError, RateProvider, RateQuote, get_provider, quantize_rate

log = logging.getLogger(__name__)

_MAX_RATE = Decimal("9999999999")  # what a 20-digit, 10-place column holds


class RateFeedOutdated(RateFeedError):
    """The feed is older than rates its provider already delivered (a lagging cache or
    mirror): storing it would roll the rates back, so it is refused."""


@dataclass(frozen=True)
class RefreshResult:
    rate_set: ExchangeRateSet
    created: bool  # False when the provider confirmed the set it delivered last time
    updated: list[str]  # currencies whose rate came from this fetch
    missing: list[str]  # configured currencies this provider does not quote


def _lock_currency_rates() -> dict[str, CurrencyRate]:
    """Every rate row, locked at once in currency-code order (lock order: shop/locks.py)."""
    return {row.currency: row for row in CurrencyRate.objects.select_for_update().order_by("currency")}


def _wanted(quote: RateQuote) -> tuple[dict[str, Decimal], list[str]]:
    configured = [code for code in settings.CURRENCIES if code != settings.BASE_CURRENCY]
    wanted = {code: quote.rates[code] for code in configured if code in quote.rates}
    missing = [code for code in configured if code not in quote.rates]
    for code, rate in wanted.items():
        if not (Decimal(0) < rate <= _MAX_RATE) or quantize_rate(rate) != rate:
            raise RateFeedError(f"{quote.provider}: the rate for {code} ({rate}) cannot be stored.")
    if not wanted:
        raise RateFeedError(f"{quote.provider}: none of the shop's currencies ({', '.join(configured)}) is quoted.")
    return wanted, missing


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _refuse_older_publication(quote: RateQuote) -> None:
    """Raise RateFeedOutdated if the provider already delivered a later publication."""
    if quote.published_at is None:
        return
    newest = ExchangeRateSet.objects.filter(provider=quote.provider).aggregate(newest=Max("published_at"))["newest"]
    if newest is not None and quote.published_at < newest:
        message = (
            f"{quote.provider}: the feed is dated {_utc(quote.published_at)}, older than the rates already "
            f"stored ({_utc(newest)}); it was ignored and the rates in force stay."
        )
        log.warning("exchange-rate refresh refused: %s", message)
        raise RateFeedOutdated(message)


def _republishes(last: ExchangeRateSet | None, quote: RateQuote, wanted: dict[str, Decimal]) -> bool:
    """The provider's last set again: the same rates, published at the same time or
    republished later (the `fixed` provider publishes "now" on every fetch)."""
    if last is None or {r.currency: r.rate for r in last.rates.all()} != wanted:
        return False
    if last.published_at == quote.published_at:
        return True
    return last.published_at is not None and quote.published_at is not None and quote.published_at > last.published_at


def store_rates(*, quote: RateQuote, now: datetime | None = None) -> RefreshResult:
    """Store a provider's rates for the configured currencies, all or nothing.

    The provider's last set again (same rates, same or later publication) only confirms
    that set and moves its publication time on; anything else becomes a new set. A
    publication older than one the provider already delivered is refused
    (RateFeedOutdated) and changes nothing. Currencies the provider does not quote keep
    their last rate (and grow stale); each refresh logs them."""
    now = now or timezone.now()
    wanted, missing = _wanted(quote)
    with transaction.atomic():
        current = _lock_currency_rates()
        _refuse_older_publication(quote)
        last = ExchangeRateSet.objects.filter(provider=quote.provider).prefetch_related("rates").first()
        if _republishes(last, quote, wanted):
            rate_set, created = last, False
            rate_set.confirmed_at, rate_set.published_at = now, quote.published_at
            rate_set.save(update_fields=["confirmed_at", "published_at"])
        else:
            rate_set, created = (
                ExchangeRateSet.objects.create(
                    provider=quote.provider, published_at=quote.published_at, fetched_at=now, confirmed_at=now
                ),
                True,
            )
            ExchangeRate.objects.bulk_create(
                [ExchangeRate(rate_set=rate_set, currency=code, rate=rate) for code, rate in wanted.items()]
            )
        for code, rate in wanted.items():
            row = current.get(code)
            if row is None:
                CurrencyRate.objects.create(currency=code, feed_rate=rate, rate_set=rate_set, confirmed_at=now)
                continue
            if row.feed_rate != rate:
                log.info("exchange rate %s: %s -> %s (%s)", code, row.feed_rate, rate, quote.provider)
            row.feed_rate, row.rate_set, row.confirmed_at = rate, rate_set, now
            if not row.is_overridden and not rates.rate_info_for(row).is_stale(now):
                # Fresh again: the next stale spell alerts anew. A re-fetch of rates that
                # are still stale (a frozen feed) must not re-arm, or staff get an alert
                # every refresh.
                row.stale_alerted_at = None
            row.save(update_fields=["feed_rate", "rate_set", "confirmed_at", "stale_alerted_at"])
        rates.invalidate_rate_cache()
    if missing:
        kept = "; ".join(_kept_rate(code, current.get(code)) for code in missing)
        log.warning("%s quotes no rate for %s; they stay on their last rates: %s", quote.provider, ", ".join(missing), kept)
    return RefreshResult(rate_set=rate_set, created=created, updated=sorted(wanted), missing=missing)


def _kept_rate(code: str, row: CurrencyRate | None) -> str:
    if row is None:
        return f"{code}: no rate at all"
    info = rates.rate_info_for(row)
    return f"{code}: {info.rate} from {info.provider}, dated {_utc(info.dated)}"


def refresh_rates(*, provider: RateProvider | None = None, now: datetime | None = None) -> RefreshResult:
    """Fetch the configured provider's rates and store them. Raises RateFeedError (and
    changes nothing) when the feed cannot be reached or read."""
    provider = provider or get_provider()
    quote = provider.fetch()  # network: outside any transaction
    return store_rates(quote=quote, now=now)


def refresh_rates_keeping_last(*, provider: RateProvider | None = None, now: datetime | None = None) -> RefreshResult | None:
    """The scheduled refresh: a failure is logged and the last good rates stay in force;
    either way staff hear about rates that have gone stale."""
    now = now or timezone.now()
    result = None
    try:
        result = refresh_rates(provider=provider, now=now)
    except RateFeedOutdated:
        pass  # logged where it was refused
    except RateFeedError as exc:
        log.error("exchange-rate refresh failed; keeping the last rates: %s", exc)
    except Exception:
        log.exception("exchange-rate refresh failed unexpectedly; keeping the last rates")
    alert_stale_rates(now=now)
    return result


def store_demo_rates(*, now: datetime | None = None) -> RefreshResult | None:
    """Development data (seed_demo): the `fixed` provider's demo rates, stored only when
    the shop has no rate at all, so real rates and staff overrides are never replaced.
    Production databases get theirs from a refresh (beat, update_rates)."""
    if CurrencyRate.objects.exists():
        return None
    return refresh_rates(provider=FixedProvider(), now=now)


def _parse_rate(raw: Any) -> Decimal:
    try:
        value = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput("The rate must be a number.", details={"rate": ["Enter a number such as 0.9215."]}) from None
    if not value.is_finite() or value <= 0 or value > _MAX_RATE:
        raise InvalidInput("The rate must be a positive number.", details={"rate": ["Enter a positive number."]})
    if quantize_rate(value) != value:
        raise InvalidInput("The rate has too many decimals.", details={"rate": ["At most 10 decimal places."]})
    return value


def _overridable(currency: str, current: dict[str, CurrencyRate]) -> CurrencyRate:
    row = current.get(currency)
    if row is None:
        raise UnsupportedCurrency(
            f"{currency} has no exchange rate to override.", details={"currency": ["No stored rate."]}
        )
    return row


def set_rate_override(
    *, currency: str, rate: Any, user_id: int | None, note: str = "", now: datetime | None = None
) -> CurrencyRate:
    """Pin `currency` to `rate` until cleared; later refreshes update the feed rate
    underneath but not the rate in force. Audited: who, when, old -> new."""
    value = _parse_rate(rate)
    now = now or timezone.now()
    with transaction.atomic():
        row = _overridable(currency, _lock_currency_rates())
        old = row.rate
        row.override_rate, row.override_note = value, note[:200]
        row.override_set_by_id, row.override_set_at = user_id, now
        row.stale_alerted_at = None
        row.save(update_fields=["override_rate", "override_note", "override_set_by", "override_set_at", "stale_alerted_at"])
        RateOverrideLog.objects.create(
            currency=currency, action=RateOverrideLog.Action.SET, old_rate=old, new_rate=value,
            note=note[:200], changed_by_id=user_id, changed_at=now,
        )
        rates.invalidate_rate_cache()
    log.warning("exchange rate %s overridden by user %s: %s -> %s", currency, user_id, old, value)
    return row


def clear_rate_override(*, currency: str, user_id: int | None, note: str = "", now: datetime | None = None) -> CurrencyRate:
    """Back to the feed's rate. Audited like setting one; clearing none is a no-op."""
    now = now or timezone.now()
    with transaction.atomic():
        row = _overridable(currency, _lock_currency_rates())
        if not row.is_overridden:
            return row
        old = row.override_rate
        row.override_rate, row.override_note, row.override_set_by_id, row.override_set_at = None, "", None, None
        row.save(update_fields=["override_rate", "override_note", "override_set_by", "override_set_at"])
        RateOverrideLog.objects.create(
            currency=currency, action=RateOverrideLog.Action.CLEARED, old_rate=old, new_rate=row.feed_rate,
            note=note[:200], changed_by_id=user_id, changed_at=now,
        )
        rates.invalidate_rate_cache()
    log.warning("exchange rate %s override cleared by user %s: %s -> %s", currency, user_id, old, row.feed_rate)
    return row


def alert_stale_rates(*, now: datetime | None = None) -> list[str]:
    """Tell staff, once per stale spell, about rates older than RATES_STALE_AFTER (and
    currencies with no rate at all, and those the provider does not quote). A rate that
    is fresh again is re-armed, so its next stale spell alerts anew. Returns the
    currencies newly reported."""
    now = now or timezone.now()
    stale, missing = rates.stale_or_missing(now)
    if missing:
        log.error("no exchange rate at all for %s: shoppers cannot choose them", ", ".join(missing))
    stale_codes = [info.currency for info in stale]
    # Whatever made a rate fresh (a new feed, an override), its next stale spell alerts.
    CurrencyRate.objects.filter(stale_alerted_at__isnull=False).exclude(currency__in=stale_codes).update(
        stale_alerted_at=None
    )
    if not stale:
        return []
    log.warning("stale exchange rates: %s", ", ".join(f"{i.currency} (dated {_utc(i.dated)})" for i in stale))
    unquoted = rates.unquoted_currencies()
    with transaction.atomic():
        newly = list(  # the stale rows, in currency-code order (lock order: shop/locks.py)
            CurrencyRate.objects.select_for_update()
            .filter(currency__in=[i.currency for i in stale], stale_alerted_at__isnull=True)
            .order_by("currency")
            .values_list("currency", flat=True)
        )
        if not newly:
            return []
        CurrencyRate.objects.filter(currency__in=newly).update(stale_alerted_at=now)
        report = [i for i in stale if i.currency in newly]
        transaction.on_commit(lambda: _send_stale_alert(report, missing, unquoted, now))
    return newly


def _send_stale_alert(stale: list[rates.RateInfo], missing: list[str], unquoted: list[str], now: datetime) -> None:
    limit = settings.RATES_STALE_AFTER
    lines = [
        f"{info.currency}: {info.rate} from {info.provider}, rates of {_utc(info.dated)} "
        f"({(now - info.dated).total_seconds() / 3600:.0f} h old)"
        for info in stale
    ]
    if missing:
        lines.append(f"No rate at all: {', '.join(missing)}")
    if unquoted:
        provider = settings.EXCHANGE_RATES_PROVIDER
        lines.append(
            f"Not quoted by {provider}: {', '.join(unquoted)}. These stay on their last rate until you set a "
            "manual rate for them (refreshes will not update them)."
        )
    subject = f"Stale exchange rates: {', '.join(i.currency for i in stale)}"
    body = (
        f"These exchange rates are older than {limit.total_seconds() / 3600:.0f} hours. Checkout keeps using "
        "them. Check the rate provider, or set a manual rate in the admin (Shop > Exchange rates).\n\n"
        + "\n".join(lines)
    )
    alert_staff(subject, body, kind="stale_rates")
