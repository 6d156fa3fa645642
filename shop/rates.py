"""Exchange rates as the rest of the shop sees them: units of a currency per 1 USD.

Issue 3 replaces the fixed table with stored, refreshed rates; callers keep using
`current_rate` and `supported_currencies`.
"""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from shop.errors import UnsupportedCurrency


def supported_currencies() -> tuple[str, ...]:
    return tuple(settings.CURRENCIES)


def validate_currency(code: str) -> str:
    code = (code or "").upper()
    if code not in supported_currencies():
        raise UnsupportedCurrency(
            f"{code or 'That currency'} is not supported. Choose one of {', '.join(supported_currencies())}.",
            details={"currency": [f"Supported: {', '.join(supported_currencies())}."]},
        )
    return code


def current_rate(currency: str) -> Decimal:
    currency = validate_currency(currency)
    if currency == settings.BASE_CURRENCY:
        return Decimal(1)
    raise UnsupportedCurrency(f"No exchange rate for {currency}.")


def currency_table() -> list[dict]:
    """Every supported currency with its rate and when that rate was set."""
    return [{"code": code, "rate": f"{current_rate(code):f}", "updated_at": None} for code in supported_currencies()]
