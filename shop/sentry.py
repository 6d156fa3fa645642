"""Optional error reporting to Sentry, on when SENTRY_DSN is set (shop/settings.py).

send_default_pii stays off: no cookies, headers, user emails or IP addresses leave the
shop, and request bodies are never sent (a payment request names a card). Events pass
through shop.logging's redaction before they go.
"""
from __future__ import annotations

from typing import Any

from shop.logging import redact


def _scrub(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request["headers"] = redact(request.get("headers") or {})
    for key in ("extra", "contexts", "breadcrumbs"):
        if key in event:
            event[key] = redact(event[key])
    return event


def init_sentry(dsn: str, *, environment: str, traces_sample_rate: float = 0.0) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=_scrub,
    )
