"""Celery tasks of the shop's plumbing: delivering queued emails (shop.mail)."""
from __future__ import annotations

import logging
import smtplib
from typing import Any

from celery import shared_task
from django.conf import settings

from shop import mail

log = logging.getLogger(__name__)

# A mail server that refuses the recipient or sender will refuse them again: not retried.
PERMANENT_FAILURES = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)
# A mail server that is down, slow (EMAIL_TIMEOUT) or failing for now: retried.
TEMPORARY_FAILURES = (smtplib.SMTPException, OSError)


def retry_delay(retries: int) -> float:
    """Seconds before the next attempt: EMAIL_RETRY_BACKOFF_SECONDS, doubling, at most
    EMAIL_RETRY_BACKOFF_MAX_SECONDS."""
    first = float(getattr(settings, "EMAIL_RETRY_BACKOFF_SECONDS", 30))
    return min(first * (2**retries), float(getattr(settings, "EMAIL_RETRY_BACKOFF_MAX_SECONDS", 1800)))


def max_retries() -> int:
    return int(getattr(settings, "EMAIL_MAX_RETRIES", 8))


def attempt(payload: dict[str, Any], retries: int) -> bool | None:
    """One delivery attempt: True when sent, False when given up (refused, or out of
    retries: logged and recorded for staff), None when it should be tried again."""
    try:
        mail.deliver(payload)
    except PERMANENT_FAILURES as exc:
        log.error("email %s refused by the mail server (%s): not retried", mail.describe(payload), type(exc).__name__)
        mail.record_unsent(payload, exc)
        return False
    except TEMPORARY_FAILURES as exc:
        if retries >= max_retries():
            log.error("email %s not sent after %s attempts (%s)", mail.describe(payload), retries + 1, type(exc).__name__)
            mail.record_unsent(payload, exc)
            return False
        log.warning("email %s: mail server failed (%s), attempt %s", mail.describe(payload), type(exc).__name__, retries + 1)
        return None
    return True


@shared_task(bind=True, name="shop.tasks.deliver_email", ignore_result=True, acks_late=True)
def deliver_email(self: Any, payload: dict[str, Any]) -> bool:
    """Send one queued message; retried with backoff while the mail server fails. After
    EMAIL_MAX_RETRIES the failure is logged and recorded for staff, and the task ends."""
    if self.request.is_eager:
        # Run in-process (tests, CELERY_TASK_ALWAYS_EAGER): Celery cannot schedule a
        # retry there, so the attempts follow one another at once.
        retries = 0
        while (sent := attempt(payload, retries)) is None:
            retries += 1
        return sent
    retries = self.request.retries or 0
    sent = attempt(payload, retries)
    if sent is None:
        raise self.retry(countdown=retry_delay(retries), max_retries=None)
    return sent
