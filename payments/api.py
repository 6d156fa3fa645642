"""Stripe's webhook endpoint (the payment step of the API is checkout's)."""
from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from payments import webhooks
from payments.models import WebhookEvent
from payments.stripe_client import InvalidWebhook
from shop.api_errors import error_json

log = logging.getLogger(__name__)


@csrf_exempt  # Stripe signs its requests; there is no browser session to protect
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe's signed events: 200 when handled or ignored, 400 `invalid` on a bad
    signature (nothing stored), 500 when handling failed (stored with its error; Stripe
    retries). Any method but POST is 405 in the API's error shape."""
    if request.method != "POST":
        response = error_json("method_not_allowed", f'Method "{request.method}" not allowed.', 405)
        response["Allow"] = "POST"
        return response
    try:
        event = webhooks.receive(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except InvalidWebhook as exc:
        log.warning("webhook refused: %s", exc)
        return error_json("invalid", f"The webhook was refused: {exc}", 400, {"signature": [str(exc)]})
    if event.outcome == WebhookEvent.Outcome.FAILED:
        return error_json(
            "webhook_failed", "Handling the event failed; it is stored and will be retried.", 500, {"event": event.stripe_event_id}
        )
    return JsonResponse({"received": True, "event": event.stripe_event_id, "outcome": event.outcome})
