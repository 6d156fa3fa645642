"""Celery tasks of checkout: thin callers of its services."""
from celery import shared_task

from checkout import payment, services


@shared_task(name="checkout.tasks.abandon_idle_carts")
def abandon_idle_carts() -> int:
    """Beat: carts idle for CART_ABANDON_AFTER are abandoned and their stock released."""
    return services.abandon_idle_carts()


@shared_task(name="checkout.tasks.cancel_intents_of_ended_checkouts")
def cancel_intents_of_ended_checkouts() -> int:
    """Beat: cancel the open intents of checkouts that ended without payment and whose
    own cancellation did not get through (Stripe was away, a worker died)."""
    return payment.cancel_intents_of_ended_checkouts()
