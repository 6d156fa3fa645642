"""Celery tasks of payments: thin callers of the services."""
from celery import shared_task

from payments import refunds


@shared_task(name="payments.tasks.retry_pending_refunds")
def retry_pending_refunds() -> int:
    """Beat: send refunds left pending (Stripe was away, a process died)."""
    return refunds.retry_pending_refunds()
