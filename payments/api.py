"""Payment endpoints of API.md: the payment step of a cart, and Stripe's webhooks."""
from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from cart.api import cart_json
from payments import services, webhooks
from payments.models import WebhookEvent
from payments.stripe_client import InvalidWebhook
from shop.api_base import ScopedThrottle, ShopAPIView, body_object
from shop.money import money_json

log = logging.getLogger(__name__)


class PaymentView(ShopAPIView):
    throttle_classes = [ScopedThrottle]
    throttle_scope = "checkout"

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses=OpenApiTypes.OBJECT,
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


@csrf_exempt  # Stripe signs its requests; there is no browser session to protect
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Stripe's signed events: 200 when handled or ignored, 400 on a bad signature
    (nothing stored), 500 when handling failed (stored with its error; Stripe retries)."""
    try:
        event = webhooks.receive(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except InvalidWebhook as exc:
        log.warning("webhook refused: %s", exc)
        return JsonResponse({"error": {"code": "invalid_signature", "message": str(exc), "details": {}}}, status=400)
    if event.outcome == WebhookEvent.Outcome.FAILED:
        return JsonResponse(
            {"error": {"code": "webhook_failed", "message": "Handling the event failed; it is stored and will be retried.", "details": {"event": event.stripe_event_id}}},
            status=500,
        )
    return JsonResponse({"received": True, "event": event.stripe_event_id, "outcome": event.outcome})
