"""Health, readiness and metrics endpoints for load balancers, orchestrators and Prometheus
(docs/api.md, Operations).

- /healthz: 200 while the process can answer; touches nothing else, so a database or
  Redis outage never makes an orchestrator restart healthy web processes.
- /readyz: the database, the cache and the Celery broker, each checked in its own thread
  with a short timeout (READINESS_TIMEOUT_SECONDS), all at once: 200 with each "ok", or
  503 naming each part "unavailable". Why a part is down is logged, never answered.
- /metrics: Prometheus text. Open unless METRICS_ALLOWED_IPS lists who may scrape.
"""
from __future__ import annotations

import ipaddress
import logging
import threading
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from shop import metrics
from shop.request_id import client_address

log = logging.getLogger(__name__)

OK = "ok"
DOWN = "unavailable"


def check_database() -> None:
    from django.db import connections

    connection = connections["default"]  # this thread's own connection, closed below
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


def check_cache() -> None:
    from django.core.cache import cache

    key, value = "shop:readyz", uuid.uuid4().hex
    cache.set(key, value, 10)
    # A cache that degrades to doing nothing when Redis is down answers None here.
    if cache.get(key) != value:
        raise RuntimeError("the cache did not keep a value")


def check_broker() -> None:
    from shop.celery import app

    timeout = _timeout()
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "cache": check_cache, "broker": check_broker}


def _timeout() -> float:
    return float(getattr(settings, "READINESS_TIMEOUT_SECONDS", 2.0))


def readiness() -> dict[str, str]:
    """Each part's status; a check that raises or outlives the timeout is unavailable."""
    results: dict[str, str] = {}
    errors: dict[str, str] = {}

    def run(name: str, check: Callable[[], None]) -> None:
        try:
            check()
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
        else:
            results[name] = OK

    threads = [threading.Thread(target=run, args=(name, check), daemon=True, name=f"readyz-{name}") for name, check in CHECKS.items()]
    for thread in threads:
        thread.start()
    deadline = _timeout()
    for thread in threads:
        thread.join(deadline)  # all run at once, so the whole answer takes about one timeout
    status = {name: results.get(name, DOWN) for name in CHECKS}
    for name, state in status.items():
        if state != OK:
            log.warning("readiness: %s unavailable: %s", name, errors.get(name, f"no answer within {deadline}s"))
    return status


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": OK})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    status = readiness()
    return JsonResponse(status, status=200 if all(state == OK for state in status.values()) else 503)


def scrape_allowed(address: str) -> bool:
    allowed = list(getattr(settings, "METRICS_ALLOWED_IPS", []) or [])
    if not allowed:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            log.warning("METRICS_ALLOWED_IPS: %r is not an address or network", entry)
    return False


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not scrape_allowed(client_address(request)):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    from prometheus_client import CONTENT_TYPE_LATEST

    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)
