"""Money rules in one place: minor units, rounding, conversion from the USD base, the
JSON and human forms of an amount, and Stripe's amounts. (docs/architecture.md, invariants 5-8.)

Three tables disagree about some currencies: ISO 4217 (py-moneyed) says how
many decimals an amount is written with, CLDR (Babel) how it is displayed, and Stripe how it
is charged. The shop writes amounts with ISO minor units (KWD "5.250"), displays them with
Babel but always with those minor units, and charges them by the explicit Stripe table
below. Prices are rounded to a step Stripe can charge exactly (for the three-decimal
currencies a multiple of 10 fils), so what the page shows is what Stripe charges.
"""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation, Overflow
from functools import lru_cache

from django.conf import settings
from django.db.models import DecimalField, Expression, ExpressionWrapper, F, Value
from django.db.models.functions import Round
from moneyed import Money, get_currency

from currencies import rates
from shop.errors import AmountNotChargeable, InvalidInput

# ISO 4217 minor units where py-moneyed's table is not what we write amounts in.
_MINOR_UNIT_OVERRIDES: dict[str, int] = {}

# --- Stripe's own table (https://docs.stripe.com/currencies) -------------------------
# Currencies Stripe takes in whole units.
STRIPE_ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()
)
# Currencies Stripe takes in thousandths, which must be a multiple of 10.
STRIPE_THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())
# Sent x100 although no fractions can be charged: the last two digits must be 00.
STRIPE_WHOLE_UNITS_AS_CENTS = frozenset({"ISK"})
# Stripe's largest amount: eight digits in the currency's Stripe unit.
STRIPE_MAX_AMOUNT = 99_999_999
# Smallest charge Stripe accepts, in the charge currency (docs: "Minimum and maximum
# charge amounts"). Other currencies: the USD minimum converted at the current rate.
STRIPE_MINIMUM_CHARGE: dict[str, Decimal] = {
    code: Decimal(amount)
    for code, amount in {
        "USD": "0.50", "AED": "2.00", "AUD": "0.50", "BGN": "1.00", "BRL": "0.50", "CAD": "0.50",
        "CHF": "0.50", "CZK": "15.00", "DKK": "2.50", "EUR": "0.50", "GBP": "0.30", "HKD": "4.00",
        "HUF": "175.00", "INR": "0.50", "JPY": "50", "MXN": "10", "MYR": "2", "NOK": "3.00",
        "NZD": "0.50", "PLN": "2.00", "RON": "2.00", "SEK": "3.00", "SGD": "0.50", "THB": "10",
    }.items()
}


def minor_units(currency: str) -> int:
    """ISO 4217 decimals of `currency` (JPY 0, USD 2, KWD 3)."""
    if currency in _MINOR_UNIT_OVERRIDES:
        return _MINOR_UNIT_OVERRIDES[currency]
    sub_unit = get_currency(currency).sub_unit  # 100, 1 or 1000 (5 for MGA and MRU)
    return {1: 0, 10: 1, 100: 2, 1000: 3}.get(sub_unit, 0)


def quantum(currency: str) -> Decimal:
    """One minor unit: 0.01 USD, 1 JPY, 0.001 KWD."""
    return Decimal(1).scaleb(-minor_units(currency))


def stripe_decimals(currency: str) -> int:
    """How many decimals Stripe's integer amount carries for `currency`."""
    if currency in STRIPE_ZERO_DECIMAL:
        return 0
    if currency in STRIPE_THREE_DECIMAL:
        return 3
    return 2


def stripe_step(currency: str) -> int:
    """Stripe's integer amounts must be a multiple of this."""
    if currency in STRIPE_THREE_DECIMAL:
        return 10
    if currency in STRIPE_WHOLE_UNITS_AS_CENTS:
        return 100
    return 1


def price_step(currency: str) -> Decimal:
    """The step every price and total is rounded to: one minor unit, or Stripe's coarser
    step where Stripe cannot charge a single minor unit (KWD: 0.010)."""
    chargeable = Decimal(stripe_step(currency)).scaleb(-stripe_decimals(currency))
    return max(quantum(currency), chargeable)


def round_money(amount: Decimal, currency: str) -> Money:
    """Round half-up to the currency's price step: the only rounding in the shop.
    The result is written with the currency's minor units (KWD 5.250)."""
    step = price_step(currency)
    steps = (Decimal(amount) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return Money((steps * step).quantize(quantum(currency)), currency)


def zero(currency: str) -> Money:
    return round_money(Decimal(0), currency)


def convert_from_base(base_amount: Decimal, currency: str, rate: Decimal) -> Money:
    """A USD base amount in `currency` at `rate` (units of currency per 1 USD)."""
    if currency == settings.BASE_CURRENCY:
        return round_money(base_amount, currency)
    return round_money(Decimal(base_amount) * Decimal(rate), currency)


def converted_from_base_sql(base_field: str, currency: str, rate: Decimal) -> Expression:
    """convert_from_base in SQL, for filtering on the price a shopper sees: the USD base
    column times the rate, rounded half-up (PostgreSQL's ROUND of a positive numeric) to
    the currency's price step, so a product shown at 10.00 EUR is within price_max=10."""
    if currency == settings.BASE_CURRENCY:
        return F(base_field)
    step = price_step(currency)
    steps = Round(ExpressionWrapper(F(base_field) * Value(rate) / Value(step), output_field=DecimalField()))
    return ExpressionWrapper(steps * Value(step), output_field=DecimalField())


def money_json(money: Money) -> dict[str, str]:
    """{"amount": "5.250", "currency": "KWD"}: exactly the currency's minor units."""
    code = money.currency.code
    amount = Decimal(money.amount).quantize(quantum(code), rounding=ROUND_HALF_UP)
    return {"amount": f"{amount:f}", "currency": code}


def parse_amount_in_steps(
    amount: Decimal, currency: str, *, what: str = "Amounts", too_large: str = "That amount is too large.", field: str = "amount"
) -> Money:
    """An amount typed by staff (a refund), refused unless it is a whole number of the
    currency's price step: its minor unit, or the coarser step prices and Stripe use
    (KWD 0.010). InvalidInput names the step and the neighbouring amounts."""
    step = price_step(currency)
    try:
        steps = amount / step
        exact = steps == steps.to_integral_value()
        written = amount.quantize(quantum(currency))
    except (InvalidOperation, Overflow):  # more digits than Decimal's context: no amount that large
        raise InvalidInput(too_large, details={field: ["Too large."]}) from None
    if not exact:
        shown_step = format_money(Money(step, currency))
        below = format_money(Money((amount // step) * step, currency)) if amount.is_finite() else None
        between = f": {amount} lies between {below} and {format_money(Money((amount // step + 1) * step, currency))}" if below else ""
        raise InvalidInput(
            f"{what} in {currency} go in steps of {shown_step}, as its prices do{between}.",
            details={field: [f"Give a multiple of {shown_step}."]},
        )
    return Money(written, currency)


# --- Display --------------------------------------------------------------------------
# CLDR's currencySpacing rule, which Babel does not apply: a currency sign made of letters
# ("KWD", "CHF") is kept apart from the digits by a no-break space; "$" and "€" are not.
_NBSP = "\u00a0"


def _needs_spacing(character: str) -> bool:
    import unicodedata

    return not unicodedata.category(character).startswith(("S", "Z"))


@lru_cache(maxsize=256)
def _display_pattern(currency: str, locale_name: str, places: int):
    from babel.core import Locale
    from babel.numbers import get_currency_symbol, parse_pattern

    locale = Locale.parse(locale_name)
    source = locale.currency_formats["standard"].pattern
    symbol = get_currency_symbol(currency, locale)
    if symbol and _needs_spacing(symbol[-1]):
        for digit in "#0":
            source = source.replace("¤" + digit, "¤" + _NBSP + digit)
    if symbol and _needs_spacing(symbol[0]):
        for digit in "#0":
            source = source.replace(digit + "¤", digit + _NBSP + "¤")
    pattern = parse_pattern(source)
    pattern.frac_prec = (places, places)  # ISO minor units, whatever CLDR says
    return locale, pattern


@lru_cache(maxsize=256)
def normalize_locale(locale: str | None) -> str:
    """A Babel locale name ("de_DE") from "de-DE", "de_DE" or "de"; en_US when unknown."""
    from babel.core import Locale, UnknownLocaleError

    if not locale:
        return "en_US"
    try:
        return str(Locale.parse(locale.replace("-", "_")))
    except (UnknownLocaleError, ValueError, TypeError):
        return "en_US"


def format_money(money: Money, locale: str | None = None) -> str:
    """Money for people, by Babel/CLDR for the locale, always with the currency's own
    minor units: `$1,234.50`, `1.234,50 €` (de), `¥1,999`, `KWD 5.250`."""
    code = money.currency.code
    places = minor_units(code)
    amount = Decimal(money.amount).quantize(quantum(code), rounding=ROUND_HALF_UP)
    # Keyed by the amount's text, which tells 0.00 from -0.00 (equal as Decimals).
    return _formatted(str(amount), code, normalize_locale(locale), places)


@lru_cache(maxsize=4096)
def _formatted(amount: str, code: str, locale_name: str, places: int) -> str:
    """Babel's formatting is slow (about 50 µs) and a page shows the same prices again and
    again: each amount is formatted once per currency and locale."""
    babel_locale, pattern = _display_pattern(code, locale_name, places)
    return pattern.apply(Decimal(amount), babel_locale, currency=code, currency_digits=False, decimal_quantization=True)


# --- Stripe ---------------------------------------------------------------------------
def stripe_amount(money: Money) -> int:
    """The integer amount Stripe takes for `money`, by Stripe's own table.

    Never rounds: an amount Stripe cannot take exactly (a fraction of its unit, a KWD
    amount that is not a multiple of 10 fils, more than eight digits) raises
    AmountNotChargeable. Refunds call this alone; charges call check_chargeable too.
    """
    code = money.currency.code
    amount = Decimal(money.amount)
    scaled = amount.scaleb(stripe_decimals(code))
    if scaled != scaled.to_integral_value():
        raise AmountNotChargeable(
            f"{format_money(money)} has more decimals than the card network takes for {code}.",
            reason="precision",
            money=money,
        )
    units = int(scaled)
    if units % stripe_step(code):
        step = Money(Decimal(stripe_step(code)).scaleb(-stripe_decimals(code)), code)
        raise AmountNotChargeable(
            f"{format_money(money)} cannot be charged: card payments in {code} go in steps of {format_money(step)}.",
            reason="step",
            money=money,
        )
    if abs(units) > STRIPE_MAX_AMOUNT:
        raise AmountNotChargeable(
            f"{format_money(money)} is more than one card payment can take; please split the order.",
            reason="maximum",
            money=money,
        )
    return units


def minimum_charge(currency: str) -> Money:
    """Stripe's smallest charge in `currency`, rounded up to a chargeable step."""
    if currency in STRIPE_MINIMUM_CHARGE:
        return Money(STRIPE_MINIMUM_CHARGE[currency], currency)
    converted = STRIPE_MINIMUM_CHARGE["USD"] * rates.current_rate(currency)
    step = price_step(currency)
    steps = (converted / step).quantize(Decimal(1), rounding=ROUND_CEILING)
    return Money((steps * step).quantize(quantum(currency)), currency)


def check_chargeable(money: Money) -> None:
    """Raise AmountNotChargeable unless Stripe would accept `money` as a charge: exact in
    Stripe's unit and step, at least the minimum charge, at most eight digits."""
    stripe_amount(money)
    minimum = minimum_charge(money.currency.code)
    if Decimal(money.amount) < minimum.amount:
        raise AmountNotChargeable(
            f"The smallest card payment in {money.currency.code} is {format_money(minimum)}; "
            f"this order comes to {format_money(money)}.",
            reason="minimum",
            money=money,
        )
