"""Alerts for the shop's staff: low stock, stale rates, payments that need a person."""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import mail_admins, send_mail

log = logging.getLogger(__name__)


def alert_staff(subject: str, body: str) -> None:
    """Email STAFF_ALERT_EMAILS (else the ADMINS) and log it. Never raises: an alert
    must not break the sale, refresh or payment that raised it."""
    log.warning("staff alert: %s", subject)
    try:
        if settings.STAFF_ALERT_EMAILS:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, settings.STAFF_ALERT_EMAILS)
        else:
            mail_admins(subject, body)
    except Exception:
        log.exception("could not send the staff alert %r", subject)
