"""Alerts for the shop's staff: low stock, stale rates, stock drift, payments and orders
that need a person.

Every alert is recorded as a StaffAlert row (listed in the admin until someone
acknowledges it), logged at WARNING and emailed to STAFF_ALERT_EMAILS, else Django's
ADMINS. With neither set the row and the log line are all there is (check shop.W003).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.core.mail import mail_admins, send_mail
from django.db import transaction
from django.utils import timezone

from shop.models import StaffAlert

log = logging.getLogger(__name__)

AlertKind = StaffAlert.Kind

_KIND_LENGTH = StaffAlert._meta.get_field("kind").max_length
_SUBJECT_LENGTH = StaffAlert._meta.get_field("subject").max_length


def alert_staff(subject: str, body: str, *, kind: str = AlertKind.OTHER) -> StaffAlert | None:
    """Record the alert, log it and email it (STAFF_ALERT_EMAILS, else the ADMINS).

    Never raises: an alert must not break the sale, refresh or payment that raised it. A
    failed insert or send is logged and the other still happens. Returns the recorded
    alert, or None if it could not be stored.
    """
    # Email headers refuse line breaks; a subject built from data must not lose the alert.
    subject = " ".join(str(subject).split())
    kind = (str(kind or "") or AlertKind.OTHER)[:_KIND_LENGTH]
    log.warning("staff alert: %s (kind %s)", subject, kind)
    alert = _record(subject, body, kind)
    _email(subject, body)
    return alert


def _record(subject: str, body: str, kind: str) -> StaffAlert | None:
    try:
        # A savepoint of its own: when called inside the caller's transaction, a failed
        # insert rolls back only itself and the caller's work carries on.
        with transaction.atomic():
            return StaffAlert.objects.create(kind=kind, subject=subject[:_SUBJECT_LENGTH], body=str(body))
    except Exception:
        log.exception("could not record the staff alert %r", subject)
        return None


def _email(subject: str, body: str) -> None:
    try:
        if _addresses(settings.STAFF_ALERT_EMAILS):
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, _addresses(settings.STAFF_ALERT_EMAILS))
        else:
            mail_admins(subject, body)  # sends nothing when ADMINS is empty
    except Exception:
        log.exception("could not send the staff alert %r", subject)


def alert_recipients() -> list[str]:
    """Who is emailed an alert: STAFF_ALERT_EMAILS, else the ADMINS' addresses."""
    return _addresses(settings.STAFF_ALERT_EMAILS) or _addresses(getattr(settings, "ADMINS", []))


def _addresses(entries: Iterable) -> list[str]:
    # ADMINS holds (name, address) pairs (plain addresses from Django 6 on); an empty
    # environment variable can leave a blank entry in STAFF_ALERT_EMAILS.
    addresses = (entry if isinstance(entry, str) else entry[-1] for entry in entries or [])
    return [address.strip() for address in addresses if address and address.strip()]


def acknowledge_alerts(alert_ids: Iterable[int], user_id: int | None, *, now: datetime | None = None) -> int:
    """Mark these alerts as seen by the user. An alert already acknowledged keeps who
    acknowledged it first, and when. Returns how many were newly acknowledged."""
    now = now or timezone.now()
    # One UPDATE: two staff acknowledging at once each take only the rows still open
    # when their statement runs, so nothing is counted or stamped twice.
    return StaffAlert.objects.filter(pk__in=list(alert_ids), acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by_id=user_id
    )
