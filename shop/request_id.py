"""RequestIdMiddleware: every request gets an id, every log line of it carries that id,
and each request ends in one log line and one latency observation.

The id is the caller's `X-Request-ID` when it is a short token (a load balancer or
client may set it, so a request can be followed through them), else a new one; it is
sent back in the response's `X-Request-ID` and travels with the Celery tasks the request
queues (shop.logging). The cart id or order number in the URL are added to the log
context as soon as the URL is resolved.

Latency is recorded by route name (`api:cart-checkout`), never the raw path, so the
metric's labels stay few whatever ids the paths hold.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from shop import metrics
from shop.client_ip import client_ip
from shop.logging import bind, log_scope

log = logging.getLogger("shop.request")

HEADER = "X-Request-ID"
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
# URL keyword arguments worth a place in the log context, by the name they get there.
_URL_IDS = {"cart_id": "cart_id", "number": "order"}
# The probes (shop.health), by path and route name.
_PROBES = {"/healthz": "health", "/readyz": "readiness"}


def request_id_of(request: HttpRequest) -> str:
    supplied = request.headers.get(HEADER, "")
    return supplied if _ACCEPTED_ID.match(supplied) else uuid.uuid4().hex


def client_address(request: HttpRequest) -> str:
    """The client's address for logs and the metrics allow-list: the same rule as the rate
    limits (shop.client_ip, TRUSTED_PROXY_COUNT)."""
    return client_ip(request)


def route_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match.route or "unnamed"
    if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "static"
    return "unmatched"


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_of(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        started = time.perf_counter()
        with log_scope(request_id=request_id):
            probe = _PROBES.get(request.path)
            if probe is not None:
                # Answered before the host check and the https redirect: orchestrators and
                # load balancers probe by the container's address, over plain http.
                route = probe
                response = self._probe(probe, request)
            else:
                response = self.get_response(request)
                route = route_name(request)
            elapsed = time.perf_counter() - started
            metrics.REQUEST_LATENCY.labels(route=route, method=request.method).observe(elapsed)
            metrics.REQUESTS.labels(route=route, method=request.method, status=f"{response.status_code // 100}xx").inc()
            if route not in ("static", "health", "readiness", "metrics"):
                log.info(
                    "%s %s %s %.1fms",
                    request.method,
                    route,
                    response.status_code,
                    elapsed * 1000,
                    extra={"status": response.status_code, "duration_ms": round(elapsed * 1000, 1), "client": client_address(request)},
                )
        response[HEADER] = request_id
        return response

    @staticmethod
    def _probe(name: str, request: HttpRequest) -> HttpResponse:
        from shop import health

        return health.healthz(request) if name == "health" else health.readyz(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        bind(**{_URL_IDS[key]: value for key, value in view_kwargs.items() if key in _URL_IDS})
        return None
