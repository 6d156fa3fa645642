"""Exchange-rate writes: storing a provider's rates, staff overrides, stale alerts.

The Celery beat task, `manage.py update_rates` and the admin's refresh action all call
`refresh_rates`; the admin's override form calls `set_rate_override`/`clear_rate_override`.
Lock order: CurrencyRate rows by currency code (every writer locks all of them at once).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.mail import mail_admins, send_mail
from django.db import transaction
from django.utils import timezone

from shop import rates
from shop.errors import InvalidInput, UnsupportedCurrency
from shop.models import CurrencyRate, ExchangeRate, ExchangeRateSet, RateOverrideLog
from shop.rate_providers import RateFeedError, RateProvider, RateQuote, get_provider, quantize_rate

log = logging.getLogger(__name__)

_MAX_RATE = Decimal("9999999999")  # what a 20-digit, 10-place column holds


@dataclass(frozen=True)
class RefreshResult:
    rate_set: ExchangeRateSet
    created: bool  # False when the provider confirmed the set it delivered last time
    updated: list[str]  # currencies whose rate came from this fetch
    missing: list[str]  # configured currencies this provider does not quote


def _lock_currency_rates() -> dict[str, CurrencyRate]:
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


def store_rates(*, quote: RateQuote, now: datetime | None = None) -> RefreshResult:
    """Store a provider's rates for the configured currencies, all or nothing.

    The same publication with the same rates as the provider's last set only confirms that
    set (and the age of its rates); anything else becomes a new set. Currencies the
    provider does not quote keep their last rate (and grow stale)."""
    now = now or timezone.now()
    wanted, missing = _wanted(quote)
    with transaction.atomic():
        current = _lock_currency_rates()
        last = ExchangeRateSet.objects.filter(provider=quote.provider).prefetch_related("rates").first()
        same = (
            last is not None
            and last.published_at == quote.published_at
            and {r.currency: r.rate for r in last.rates.all()} == wanted
        )
        if same:
            rate_set, created = last, False
            rate_set.confirmed_at = now
            rate_set.save(update_fields=["confirmed_at"])
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
            if not row.is_overridden:
                row.stale_alerted_at = None  # fresh again: the next stale spell alerts anew
            row.save(update_fields=["feed_rate", "rate_set", "confirmed_at", "stale_alerted_at"])
        rates.invalidate_rate_cache()
    if missing:
        log.warning("%s quotes no rate for %s; keeping their last rates", quote.provider, ", ".join(missing))
    return RefreshResult(rate_set=rate_set, created=created, updated=sorted(wanted), missing=missing)


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
    except RateFeedError as exc:
        log.error("exchange-rate refresh failed; keeping the last rates: %s", exc)
    except Exception:
        log.exception("exchange-rate refresh failed unexpectedly; keeping the last rates")
    alert_stale_rates(now=now)
    return result


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
    currencies with no rate at all). Returns the currencies newly reported."""
    now = now or timezone.now()
    stale, missing = rates.stale_or_missing(now)
    if missing:
        log.error("no exchange rate at all for %s: shoppers cannot choose them", ", ".join(missing))
    if not stale:
        return []
    log.warning("stale exchange rates: %s", ", ".join(f"{i.currency} (since {i.as_of:%Y-%m-%d %H:%M})" for i in stale))
    with transaction.atomic():
        newly = list(
            CurrencyRate.objects.select_for_update()
            .filter(currency__in=[i.currency for i in stale], stale_alerted_at__isnull=True)
            .order_by("currency")
            .values_list("currency", flat=True)
        )
        if not newly:
            return []
        CurrencyRate.objects.filter(currency__in=newly).update(stale_alerted_at=now)
        report = [i for i in stale if i.currency in newly]
        transaction.on_commit(lambda: _send_stale_alert(report, missing, now))
    return newly


def _send_stale_alert(stale: list[rates.RateInfo], missing: list[str], now: datetime) -> None:
    limit = settings.RATES_STALE_AFTER
    lines = [
        f"{info.currency}: {info.rate} from {info.provider}, last updated {info.as_of:%Y-%m-%d %H:%M} UTC "
        f"({(now - info.as_of).total_seconds() / 3600:.0f} h ago)"
        for info in stale
    ]
    if missing:
        lines.append(f"No rate at all: {', '.join(missing)}")
    subject = f"Stale exchange rates: {', '.join(i.currency for i in stale)}"
    body = (
        f"These exchange rates are older than {limit.total_seconds() / 3600:.0f} hours. Checkout keeps using "
        "them. Check the rate provider, or set a manual rate in the admin (Shop > Exchange rates).\n\n"
        + "\n".join(lines)
    )
    try:
        if settings.STAFF_ALERT_EMAILS:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, settings.STAFF_ALERT_EMAILS)
        else:
            mail_admins(subject, body)
    except Exception:  # an alert must never break a refresh
        log.exception("could not send the stale-rates alert")
