"""Payment endpoints of API.md: the payment step of a cart, and Stripe's webhooks."""
from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from cart.api import cart_json
from payments import services, webhooks
from payments.api_schema import PaymentRequestSerializer, PaymentSerializer
from payments.models import WebhookEvent
from payments.stripe_client import InvalidWebhook
from shop.api_base import ScopedThrottle, ShopAPIView, body_object
from shop.api_schema import error_responses
from shop.money import money_json

log = logging.getLogger(__name__)


class PaymentView(ShopAPIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "checkout"

    @extend_schema(
        request=PaymentRequestSerializer,
        responses={200: PaymentSerializer, **error_responses(400, 402, 404, 409, 429, 502)},
        summary="Create or update the checkout's PaymentIntent; confirm it with a payment method",
    )
    def post(self, request: Request, cart_id) -> Response:
        body = body_object(request)
        result = services.request_payment(cart_id=cart_id, payment_method=body.get("payment_method"))
        return Response(
            {
                "payment_intent_id": result.payment_intent_id,
                "client_secret": result.client_secret,
                "status": result.status,
                "amount": money_json(result.amount),
                "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
                "cart": cart_json(result.cart_id),
            }
        )


def _error(code: str, message: str, status: int, details: dict | None = None) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": details or {}}}, status=status)


@csrf_exempt  # Stripe signs its requests; there is no browser session to protect
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe's signed events: 200 when handled or ignored, 400 `invalid` on a bad
    signature (nothing stored), 500 when handling failed (stored with its error; Stripe
    retries). Any method but POST is 405 in the API's error shape."""
    if request.method != "POST":
        response = _error("method_not_allowed", f'Method "{request.method}" not allowed.', 405)
        response["Allow"] = "POST"
        return response
    try:
        event = webhooks.receive(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except InvalidWebhook as exc:
        log.warning("webhook refused: %s", exc)
        return _error("invalid", f"The webhook was refused: {exc}", 400, {"signature": [str(exc)]})
    if event.outcome == WebhookEvent.Outcome.FAILED:
        return _error(
            "webhook_failed", "Handling the event failed; it is stored and will be retried.", 500, {"event": event.stripe_event_id}
        )
    return JsonResponse({"received": True, "event": event.stripe_event_id, "outcome": event.outcome})
