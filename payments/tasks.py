"""Celery tasks of payments: thin callers of the services."""
from celery import shared_task

from payments import refunds, services


@shared_task(name="payments.tasks.sweep")
def sweep() -> dict[str, int]:
    """Beat: send refunds left pending (Stripe was away, a process died) and cancel the
    open intents of checkouts that ended without payment."""
    return {
        "refunds_sent": refunds.retry_pending_refunds(),
        "intents_cancelled": services.cancel_intents_of_ended_checkouts(),
    }


@shared_task(name="payments.tasks.cancel_payment_for_cart", ignore_result=True)
def cancel_payment_for_cart(cart_id: str) -> int:
    """Queue this from transaction.on_commit when a checkout is cancelled or abandoned."""
    return services.cancel_payment_for_cart(cart_id)
