"""System checks of the shop's own plumbing (`manage.py check`)."""
from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning, register

from shop.alerts import alert_recipients

NO_ALERT_RECIPIENTS_HINT = (
    "Set STAFF_ALERT_EMAILS (comma-separated addresses) so that low-stock, stale-rate, stock-drift "
    "and payment alerts reach someone. Until then see Admin > Shop > Staff alerts."
)


# Its own tag ("manage.py check --tag alerts"): the "shop" tag is the currency set-up's.
@register("alerts")
def check_alert_recipients(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """shop.W003: staff alerts have nobody to email. They are still recorded (admin) and
    logged, but nobody is told, and an alert is usually about money or stock."""
    if alert_recipients():
        return []
    return [
        Warning(
            "Neither STAFF_ALERT_EMAILS nor ADMINS has a recipient: staff alerts are only recorded in admin and logged.",
            hint=NO_ALERT_RECIPIENTS_HINT,
            id="shop.W003",
        )
    ]
