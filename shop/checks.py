"""Django system checks of the shop's own settings (`manage.py check`, and every
runserver/migrate start)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register

DEMO_RATES_WARNING = (
    "EXCHANGE_RATES_PROVIDER is 'fixed': prices in currencies other than {base} use built-in demo "
    "exchange rates, not market rates."
)
DEMO_RATES_HINT = (
    "Set EXCHANGE_RATES_PROVIDER to 'ecb' (keyless) or 'openexchangerates' (with "
    "OPEN_EXCHANGE_RATES_APP_ID) in production. 'fixed' is for offline development only."
)


def demo_rates_in_use() -> bool:
    """The configured provider is the offline demo one."""
    return str(settings.EXCHANGE_RATES_PROVIDER).strip().lower() == "fixed"


def demo_rates_message() -> str:
    return DEMO_RATES_WARNING.format(base=settings.BASE_CURRENCY)


@register("shop")
def check_exchange_rate_provider(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """shop.W001: demo rates with DEBUG off. The default stays `fixed` so `make run` and
    test suites work offline; a production deploy should not sell on it unnoticed."""
    if settings.DEBUG or not demo_rates_in_use():
        return []
    return [Warning(demo_rates_message(), hint=DEMO_RATES_HINT, id="shop.W001")]
