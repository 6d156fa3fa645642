"""The exchange rates' figures for /metrics, read from the database at each scrape (so
every web process reports the same thing, whoever refreshed the rates): how long since a
refresh last succeeded, and how old each currency's rate in force is."""
from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Max
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from currencies.models import CurrencyRate, ExchangeRateSet
from currencies.rates import rate_info_for


def rate_metrics() -> Iterator[Metric]:
    now = timezone.now()
    refreshed = GaugeMetricFamily(
        "shop_exchange_rates_refresh_age_seconds",
        "Seconds since a refresh of the exchange rates last succeeded (a fetch returned rates).",
    )
    last = ExchangeRateSet.objects.aggregate(last=Max("confirmed_at"))["last"]
    if last is not None:
        refreshed.add_metric([], (now - last).total_seconds())
    yield refreshed
    ages = GaugeMetricFamily(
        "shop_exchange_rate_age_seconds",
        "Age of each currency's rate in force (from its publication or override).",
        labels=["currency"],
    )
    for row in CurrencyRate.objects.select_related("rate_set").order_by("currency"):
        ages.add_metric([row.currency], (now - rate_info_for(row).dated).total_seconds())
    yield ages
