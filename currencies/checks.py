"""System checks of the currency set-up (`manage.py check`; the database one with
`--database default` and on `migrate`)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import DatabaseError
from django.utils.translation import gettext_noop

from currencies.rates import stale_or_missing

# In English for the system check; the rates admin shows them in the staff member's language.
DEMO_RATES_WARNING = gettext_noop(
    "EXCHANGE_RATES_PROVIDER is 'fixed': prices in currencies other than {base} use built-in demo "
    "exchange rates, not market rates."
)
DEMO_RATES_HINT = gettext_noop(
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


NO_RATES_HINT = (
    "Run `python manage.py update_rates` (or start Celery beat, which refreshes at once), or set "
    "a manual rate in the admin. `python manage.py seed_demo` stores demo rates for development."
)


@register("shop", Tags.database)
def check_rates_stored(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """shop.W002: configured currencies without any stored rate cannot be sold in. A
    fresh database starts with none (demo rates come only from seed_demo). A database
    check: `manage.py check --database default` and `migrate` run it."""
    if not databases:
        return []
    try:
        _stale, missing = stale_or_missing()
    except DatabaseError:  # not migrated yet: migrate reports it, and no rate is stored either
        missing = [code for code in settings.CURRENCIES if code != settings.BASE_CURRENCY]
    if not missing:
        return []
    return [
        Warning(
            f"No exchange rate is stored for {', '.join(missing)}: shoppers can only use "
            f"{settings.BASE_CURRENCY} and currencies with a rate until one is stored.",
            hint=NO_RATES_HINT,
            id="shop.W002",
        )
    ]
