"""Celery tasks of currencies: the exchange-rate refresh beat runs every
RATES_REFRESH_SECONDS (CELERY_BEAT_SCHEDULE) and once when beat starts."""
from __future__ import annotations

from celery import shared_task
from celery.signals import beat_init

from currencies import services as rate_services


@shared_task(name="currencies.tasks.refresh_exchange_rates")
def refresh_exchange_rates() -> dict | None:
    """Fetch and store the configured provider's rates. A failed fetch is logged and the
    last good rates stay in force; stale rates alert staff either way."""
    result = rate_services.refresh_rates_keeping_last()
    if result is None:
        return None
    return {
        "provider": result.rate_set.provider,
        "rate_set": result.rate_set.pk,
        "new_set": result.created,
        "updated": result.updated,
        "missing": result.missing,
    }


@beat_init.connect
def _refresh_when_beat_starts(sender=None, **kwargs) -> None:
    # Without this the first refresh waits a whole interval after a deploy.
    refresh_exchange_rates.delay()
