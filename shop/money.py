"""Money rules in one place: minor units, rounding, conversion from the USD base and
the JSON form of an amount. (DESIGN.md invariants 5-8.)"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from moneyed import Money, get_currency

# ISO 4217 minor units where py-moneyed's table is not what we charge in.
_MINOR_UNIT_OVERRIDES: dict[str, int] = {}


def minor_units(currency: str) -> int:
    if currency in _MINOR_UNIT_OVERRIDES:
        return _MINOR_UNIT_OVERRIDES[currency]
    sub_unit = get_currency(currency).sub_unit  # 100, 1 or 1000
    return {1: 0, 10: 1, 100: 2, 1000: 3}[sub_unit]


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal, currency: str) -> Money:
    """Round half-up to the currency's minor units: the only rounding in the shop."""
    return Money(Decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP), currency)


def zero(currency: str) -> Money:
    return round_money(Decimal(0), currency)


def convert_from_base(base_amount: Decimal, currency: str, rate: Decimal) -> Money:
    """A USD base amount in `currency` at `rate` (units of currency per 1 USD)."""
    if currency == settings.BASE_CURRENCY:
        return round_money(base_amount, currency)
    return round_money(Decimal(base_amount) * Decimal(rate), currency)


def money_json(money: Money) -> dict[str, str]:
    code = money.currency.code
    amount = Decimal(money.amount).quantize(quantum(code), rounding=ROUND_HALF_UP)
    return {"amount": f"{amount:f}", "currency": code}


def format_money(money: Money, locale: str | None = None) -> str:
    """Money for people: symbol, separators and decimals of the currency and locale
    (Babel/CLDR), always with the currency's own minor units."""
    from babel.numbers import format_currency

    code = money.currency.code
    places = minor_units(code)
    pattern = None
    if places == 0:
        pattern = "¤#,##0"
    return format_currency(
        Decimal(money.amount).quantize(quantum(code), rounding=ROUND_HALF_UP),
        code,
        format=pattern,
        locale=locale or "en_US",
        currency_digits=False,
        decimal_quantization=False,
    )
