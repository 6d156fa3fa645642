"""Stripe's webhooks: verified on the raw body, stored once by event id, handled once.

Stripe delivers at least once and in any order, so every handler is idempotent and
tolerant of stale news. Handling runs under the event row's lock in a savepoint: a
handler that raises leaves nothing behind but the stored error and the attempt count,
and the endpoint answers 5xx so that Stripe delivers again (invariant 13).
"""
from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from currencies.money import format_money
from orders import services as order_services
from orders.models import Order
from payments import records, stripe_client
from payments.amounts import from_stripe
from payments.models import Payment, WebhookEvent
from shop import metrics
from shop.logging import bind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handled:
    """What a handler did: `ignored` when the event needed nothing of the shop."""

    result: str
    ignored: bool = False


# --- handlers -------------------------------------------------------------------------


def on_payment_intent_failed(obj: Mapping[str, Any]) -> Handled:
    """The cart stays in checkout with its reservation; the failure is recorded."""
    intent = stripe_client.intent_from(obj)
    changed = records.record_intent_state(intent)
    return Handled(f"failure recorded ({intent.error_code or 'no code'})" if changed else "stale or unknown intent", ignored=not changed)


def on_payment_intent_changed(obj: Mapping[str, Any]) -> Handled:
    """payment_intent.processing and the like: keep the record in step."""
    intent = stripe_client.intent_from(obj)
    changed = records.record_intent_state(intent)
    return Handled(f"status {intent.status} recorded" if changed else "stale or unknown intent", ignored=not changed)


def on_payment_intent_canceled(obj: Mapping[str, Any]) -> Handled:
    """Recorded. An order whose authorization was cancelled or lapsed before capture
    (manual capture, 7 days) has no money behind it: staff must look."""
    intent = stripe_client.intent_from(obj)
    records.record_intent_state(intent)
    payment = Payment.objects.filter(stripe_payment_intent_id=intent.id).select_related("order").first()
    if payment is None:
        return Handled("unknown intent", ignored=True)
    order = payment.order
    if order is not None and order.payment_status == Order.PaymentStatus.AUTHORIZED:
        order_services.mark_payment_failed(
            order_id=order.pk, reason=f"The card authorization {intent.id} was cancelled or lapsed before capture."
        )
        return Handled(f"order {order.number} flagged: authorization cancelled")
    return Handled("cancellation recorded")


def _payment_of_charge(charge: Mapping[str, Any]) -> Payment | None:
    intent_id = charge.get("payment_intent")
    if isinstance(intent_id, Mapping):
        intent_id = intent_id.get("id")
    query = Payment.objects.select_for_update()  # under the event's lock (lock order: shop/locks.py)
    if intent_id:
        return query.filter(stripe_payment_intent_id=intent_id).first()
    if charge.get("id"):
        return query.filter(stripe_charge_id=charge["id"]).first()
    return None


def on_charge_refunded(obj: Mapping[str, Any]) -> Handled:
    """A refund (ours or from Stripe's dashboard), partial or full: the order records the
    cumulative refunded amount; a stale event never lowers it."""
    payment = _payment_of_charge(obj)
    if payment is None:
        return Handled("charge of no known payment", ignored=True)
    refunded = int(obj.get("amount_refunded") or 0)
    if refunded > payment.amount_refunded:
        payment.amount_refunded = refunded
        payment.save(update_fields=["amount_refunded", "updated_at"])
    if payment.order_id is None:
        return Handled(f"refund of {refunded} recorded (no order)")
    order = order_services.record_refunded(
        order_id=payment.order_id, refunded=from_stripe(payment.amount_refunded, payment.currency), reason="Refunded at Stripe"
    )
    return Handled(f"order {order.number}: {order.refunded} refunded, {order.payment_status}")


def on_dispute_created(obj: Mapping[str, Any]) -> Handled:
    """A chargeback: flag the payment and its order for staff."""
    charge_like = {"payment_intent": obj.get("payment_intent"), "id": obj.get("charge")}
    payment = _payment_of_charge(charge_like)
    if payment is None:
        return Handled("dispute of no known payment", ignored=True)
    amount = from_stripe(int(obj.get("amount") or 0), str(obj.get("currency") or payment.currency))
    reason = f"Dispute {obj.get('id')} opened ({obj.get('reason') or 'no reason given'}) for {format_money(amount)}."
    payment.needs_attention = True
    payment.attention_reason = f"{payment.attention_reason}\n{reason}".strip()
    payment.save(update_fields=["needs_attention", "attention_reason", "updated_at"])
    if payment.order_id is None:
        return Handled("dispute recorded on a payment without order")
    order = order_services.flag_order(order_id=payment.order_id, reason=reason, kind="dispute")
    return Handled(f"order {order.number} flagged: dispute")


Handler = Callable[[Mapping[str, Any]], Handled]

# Events that report a paid intent. Their handler (which makes the order) is registered
# by the checkout app; until it is, such an event fails and stays to be retried rather
# than being ignored for good (system check payments.E001 says so at start-up).
PAID_INTENT_EVENTS = ("payment_intent.succeeded", "payment_intent.amount_capturable_updated")

# Event type -> handler. Payments handles what only touches payment records and orders;
# apps above it register the rest at start-up (checkout: the paid intents that make orders).
HANDLERS: dict[str, Handler] = {
    "payment_intent.payment_failed": on_payment_intent_failed,
    "payment_intent.processing": on_payment_intent_changed,
    "payment_intent.requires_action": on_payment_intent_changed,
    "payment_intent.canceled": on_payment_intent_canceled,
    "charge.refunded": on_charge_refunded,
    "charge.dispute.created": on_dispute_created,
}


def register_handler(event_type: str, handler: Handler) -> None:
    """Handle `event_type` with `handler` (from an AppConfig.ready of an app above)."""
    HANDLERS[event_type] = handler


# --- intake ---------------------------------------------------------------------------


def _object_id(event: Mapping[str, Any]) -> str:
    obj = (event.get("data") or {}).get("object") or {}
    return str(obj.get("id") or "")[:255] if isinstance(obj, Mapping) else ""


def store_event(event: Mapping[str, Any]) -> WebhookEvent:
    """The stored event, created on its first delivery; later deliveries are counted."""
    try:
        with transaction.atomic():
            stored, created = WebhookEvent.objects.get_or_create(
                stripe_event_id=event["id"],
                defaults={"type": str(event["type"])[:100], "payload": dict(event), "object_id": _object_id(event)},
            )
    except IntegrityError:  # a concurrent first delivery won the insert
        stored, created = WebhookEvent.objects.get(stripe_event_id=event["id"]), False
    if not created:
        WebhookEvent.objects.filter(pk=stored.pk).update(deliveries=F("deliveries") + 1)
    return stored


def receive(*, payload: bytes, signature: str | None) -> WebhookEvent:
    """Verify (InvalidWebhook on a bad signature: nothing stored), store, handle."""
    try:
        event = stripe_client.verify_webhook(payload, signature)
    except stripe_client.InvalidWebhook:
        metrics.WEBHOOK_EVENTS.labels(outcome="refused").inc()
        raise
    bind(stripe_event=event.get("id"), payment_intent=_object_id(event) if str(event.get("type", "")).startswith("payment_intent.") else None)
    metrics.observe_webhook_lag(event.get("created"))
    stored = store_event(event)
    if stored.outcome in (WebhookEvent.Outcome.PROCESSED, WebhookEvent.Outcome.IGNORED):
        metrics.WEBHOOK_EVENTS.labels(outcome="duplicate").inc()
        return stored  # a duplicate of a handled event: no need to queue for its lock
    handled = process_event(stored.pk)
    metrics.WEBHOOK_EVENTS.labels(outcome=str(handled.outcome)).inc()
    return handled


def process_event(event_id: int) -> WebhookEvent:
    """Handle a stored event unless it was handled already (also the admin's retry),
    under the event row's lock (lock order: shop/locks.py, before the cart)."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if event.outcome in (WebhookEvent.Outcome.PROCESSED, WebhookEvent.Outcome.IGNORED):
            return event
        event.attempts += 1
        handler = HANDLERS.get(event.type)
        try:
            if handler is None and event.type in PAID_INTENT_EVENTS:
                raise LookupError(f"no handler is registered for {event.type} (payments.E001)")
            if handler is None:
                handled = Handled("no handler for this event type", ignored=True)
            else:
                obj = (event.payload.get("data") or {}).get("object")
                if not isinstance(obj, Mapping):
                    raise ValueError("The event has no data.object.")
                with transaction.atomic():  # a failing handler rolls back to here
                    handled = handler(obj)
        except Exception as exc:
            log.exception("webhook %s (%s) failed on attempt %s", event.stripe_event_id, event.type, event.attempts)
            event.outcome = WebhookEvent.Outcome.FAILED
            event.error = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"[:10000]
            event.save(update_fields=["attempts", "outcome", "error"])
            return event
        event.outcome = WebhookEvent.Outcome.IGNORED if handled.ignored else WebhookEvent.Outcome.PROCESSED
        event.result = handled.result[:500]
        event.error = ""
        event.processed_at = timezone.now()
        event.save(update_fields=["attempts", "outcome", "result", "error", "processed_at"])
    return event
