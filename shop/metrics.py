"""The shop's Prometheus metrics, all in one place (the lowest layer, so every app can
count its own events here). Served at /metrics (shop.health.metrics).

Under gunicorn every worker process counts on its own; with PROMETHEUS_MULTIPROC_DIR set
(before the first import of prometheus_client: deploy/gunicorn.conf.py does it) they write
to files in that folder and /metrics adds them up, and the gunicorn config's child_exit
hook marks a dead worker's gauges. Figures read from the database when scraped (the age of
the exchange rates) come from collectors that apps register with `register_collector`,
so this module imports no app.

Labels are bounded: routes by name, payment failures by a known decline code or "other".
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import Metric

log = logging.getLogger(__name__)

# --- stock reservations (inventory.services) -------------------------------------------
RESERVATION_UNITS = Counter(
    "shop_reservation_units",
    "Units of stock reserved by checkouts (created), given back by a cart (released) or by the "
    "expiry sweep (expired), or sold (committed).",
    ["event"],
)
RESERVATION_EXTENSIONS = Counter("shop_reservation_extensions", "Holds of a cart's reservations moved later (extended).")
OUT_OF_STOCK_REFUSALS = Counter(
    "shop_out_of_stock_refusals",
    "Requests refused for want of stock: adding to a cart (cart) or reserving and selling (reserve).",
    ["stage"],
)

# --- checkout and payments -------------------------------------------------------------
CHECKOUT_STARTS = Counter("shop_checkout_starts", "Checkouts started (all lines reserved).")
CHECKOUT_COMPLETIONS = Counter(
    "shop_checkout_completions",
    "Orders made from paid carts; outcome ok, or out_of_stock (paid after the hold lapsed: flagged and refunded).",
    ["outcome"],
)
PAYMENT_FAILURES = Counter("shop_payment_failures", "Payments refused, by decline reason.", ["reason"])
REFUNDS = Counter("shop_refunds", "Refunds sent to Stripe, by result: succeeded, failed, pending (Stripe unreachable).", ["result"])

# --- webhooks --------------------------------------------------------------------------
WEBHOOK_EVENTS = Counter(
    "shop_webhook_events",
    "Stripe webhook deliveries by outcome: processed, ignored, failed, duplicate, refused (bad signature).",
    ["outcome"],
)
WEBHOOK_LAG = Histogram(
    "shop_webhook_lag_seconds",
    "Seconds from Stripe creating an event to its delivery here.",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400),
)

# --- HTTP ------------------------------------------------------------------------------
REQUEST_LATENCY = Histogram(
    "shop_http_request_duration_seconds",
    "Time to answer a request, by route name and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REQUESTS = Counter("shop_http_requests", "Requests answered, by route name, method and status class.", ["route", "method", "status"])


def count_payment_failure(reason: str | None, known: Iterable[str]) -> None:
    """`known`: the decline codes the shop has a message for; others count as "other"."""
    label = reason if reason and reason in known else "other"
    PAYMENT_FAILURES.labels(reason=label).inc()


def observe_webhook_lag(created: Any) -> None:
    try:
        lag = time.time() - float(created)
    except (TypeError, ValueError):
        return
    WEBHOOK_LAG.observe(max(lag, 0.0))


# --- figures read at scrape time ------------------------------------------------------
ScrapeCollector = Callable[[], Iterable[Metric]]
_scrape_collectors: list[ScrapeCollector] = []


def register_collector(collector: ScrapeCollector) -> None:
    """An app's function yielding metric families (e.g. GaugeMetricFamily) when /metrics
    is scraped. One that raises is logged and left out of that scrape."""
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


class _ScrapeTime:
    def collect(self) -> Iterable[Metric]:
        for collector in _scrape_collectors:
            try:
                yield from collector()
            except Exception:
                log.warning("metrics collector %s failed", getattr(collector, "__name__", collector), exc_info=True)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


def render() -> bytes:
    """The Prometheus text exposition of every process's counters plus the scrape-time figures."""
    from prometheus_client import REGISTRY

    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    scrape = CollectorRegistry()
    scrape.register(_ScrapeTime())
    return text + generate_latest(scrape)
