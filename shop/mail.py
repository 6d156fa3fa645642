"""Every email the shop sends leaves through a Celery task, after the transaction that
caused it commits, never inside a shopper's or staff member's request.

EMAIL_BACKEND is `shop.mail.QueuedEmailBackend`: Django's send_mail, mail_admins,
EmailMessage.send() and allauth's emails all hand their messages to it. It turns each
message into plain JSON and, once the current transaction commits
(transaction.on_commit; at once outside a transaction), queues `shop.tasks.deliver_email`.
The worker sends it with EMAIL_DELIVERY_BACKEND (SMTP from EMAIL_URL, the console in
development), bounded by EMAIL_TIMEOUT, and retries with backoff while the mail server
fails. A rolled-back transaction sends nothing.

Queueing never raises to the caller: with the broker down the message is logged (its
recipients and subject, never its body) and recorded as a staff alert, and the request
that caused it still succeeds.
"""
from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction

log = logging.getLogger(__name__)

DEFAULT_DELIVERY_BACKEND = "django.core.mail.backends.console.EmailBackend"
UNSENT_EMAIL_ALERT = "email_not_sent"  # the StaffAlert kind


def delivery_backend() -> str:
    """The backend the worker really sends with (never this module's own)."""
    backend = getattr(settings, "EMAIL_DELIVERY_BACKEND", "") or DEFAULT_DELIVERY_BACKEND
    if backend == f"{__name__}.QueuedEmailBackend":
        raise ValueError("EMAIL_DELIVERY_BACKEND must be a backend that sends, not the queue itself.")
    return backend


def message_to_payload(message: EmailMessage) -> dict[str, Any]:
    """A JSON-safe copy of the message (Celery's serializer is JSON)."""
    attachments = []
    for attachment in message.attachments:
        filename, content, mimetype = (attachment if isinstance(attachment, tuple) else (None, None, None))[:3]
        if content is None:  # a ready-made MIME part: not used by the shop, kept out of the queue
            log.warning("email %r: a MIME attachment cannot be queued and is left out", message.subject)
            continue
        raw = content.encode() if isinstance(content, str) else bytes(content)
        attachments.append({"filename": filename, "content": base64.b64encode(raw).decode(), "mimetype": mimetype})
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": {str(key): str(value) for key, value in (message.extra_headers or {}).items()},
        "alternatives": [[str(content), str(mimetype)] for content, mimetype in getattr(message, "alternatives", [])],
        "content_subtype": message.content_subtype,
        "attachments": attachments,
    }


def message_from_payload(payload: dict[str, Any], connection: Any = None) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload.get("from_email"),
        to=payload.get("to") or [],
        cc=payload.get("cc") or [],
        bcc=payload.get("bcc") or [],
        reply_to=payload.get("reply_to") or [],
        headers=payload.get("headers") or {},
        connection=connection,
    )
    message.content_subtype = payload.get("content_subtype") or "plain"
    for content, mimetype in payload.get("alternatives") or []:
        message.attach_alternative(content, mimetype)
    for attachment in payload.get("attachments") or []:
        message.attach(attachment["filename"], base64.b64decode(attachment["content"]), attachment["mimetype"])
    return message


def deliver(payload: dict[str, Any]) -> int:
    """Send one queued message now with the delivery backend (the worker's half). Raises
    what the mail server raised, so the task can retry."""
    connection = get_connection(delivery_backend(), fail_silently=False)
    return message_from_payload(payload, connection).send()


def describe(payload: dict[str, Any]) -> str:
    recipients = len(payload.get("to") or []) + len(payload.get("cc") or []) + len(payload.get("bcc") or [])
    return f"{payload.get('subject', '')[:100]!r} to {recipients} recipient(s)"


def enqueue(payload: dict[str, Any]) -> bool:
    """Queue the delivery task now. Never raises: a broker that is down (or, in eager
    mode, a delivery that failed every retry) is logged and recorded for staff."""
    from shop.tasks import deliver_email

    try:
        deliver_email.delay(payload)
    except Exception as exc:  # kombu's OperationalError, a refused connection, ...
        log.error("email %s could not be queued (%s: %s): not sent", describe(payload), type(exc).__name__, str(exc)[:200])
        record_unsent(payload, exc)
        return False
    return True


def record_unsent(payload: dict[str, Any], exc: Exception) -> None:
    """An email that will not go out (not queued, refused, or out of retries) becomes a
    staff alert in the admin, recorded only: no email about an email that failed."""
    from shop.models import StaffAlert

    try:
        with transaction.atomic():
            StaffAlert.objects.create(
                kind=UNSENT_EMAIL_ALERT,
                subject=f"Email not sent: {payload.get('subject', '')}"[: StaffAlert._meta.get_field("subject").max_length],
                body=f"To {', '.join(payload.get('to') or [])}: {type(exc).__name__}. Send it again by hand.",
            )
    except Exception:
        log.exception("could not record the unsent email %s", describe(payload))


class QueuedEmailBackend(BaseEmailBackend):
    """An email backend that sends nothing itself: each message is queued for the Celery
    task once the current transaction commits. send_messages returns how many messages
    were accepted for sending."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        accepted = 0
        for message in email_messages:
            if not message.recipients():
                continue
            try:
                payload = message_to_payload(message)
            except Exception:
                if not self.fail_silently:
                    raise
                log.exception("email %r could not be prepared for sending", getattr(message, "subject", ""))
                continue
            transaction.on_commit(partial(enqueue, payload))
            accepted += 1
        return accepted
