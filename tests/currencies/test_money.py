"""Conversion, rounding, display and Stripe amounts (invariants 5 and 8)."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.conf import settings
from hypothesis import given, settings as hypothesis_settings, strategies as st
from moneyed import Money

from shop.errors import AmountNotChargeable, InvalidInput
from currencies.money import (
    check_chargeable,
    convert_from_base,
    format_money,
    minimum_charge,
    minor_units,
    money_json,
    price_step,
    round_money,
    stripe_amount,
)
from tests.support.rates import store_rates

SHOP_CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "KWD")


def test_the_shop_sells_in_nine_currencies_on_a_usd_base():
    assert settings.BASE_CURRENCY == "USD"
    assert settings.CURRENCIES == SHOP_CURRENCIES


@pytest.mark.parametrize(
    "currency, places, step",
    [
        ("USD", 2, "0.01"), ("EUR", 2, "0.01"), ("GBP", 2, "0.01"), ("JPY", 0, "1"), ("CAD", 2, "0.01"),
        ("AUD", 2, "0.01"), ("CHF", 2, "0.01"), ("SEK", 2, "0.01"), ("KWD", 3, "0.010"),
    ],
)
def test_minor_units_and_price_step_of_each_currency(currency, places, step):
    assert minor_units(currency) == places
    assert price_step(currency) == Decimal(step)


# --- rounding: half-up, per unit, for every supported currency -----------------------------

@pytest.mark.parametrize(
    "base, currency, rate, expected",
    [
        ("10.005", "USD", "1", "10.01"),  # half-up, not half-even (10.00)
        ("10.0049999", "USD", "1", "10.00"),
        ("1.00", "EUR", "0.125", "0.13"),  # half-even would give 0.12
        ("1.00", "EUR", "0.1249999999", "0.12"),
        ("1.00", "GBP", "0.785", "0.79"),  # half-even would give 0.78
        ("1.00", "GBP", "0.775", "0.78"),
        ("1.00", "JPY", "150.5", "151"),  # half-even would give 150
        ("1.00", "JPY", "151.5", "152"),
        ("1.00", "JPY", "151.4999999999", "151"),
        ("19.99", "JPY", "151.37", "3026"),  # 3025.8863
        ("2.00", "CAD", "1.3625", "2.73"),  # 2.725
        ("2.00", "AUD", "1.5125", "3.03"),  # 3.025
        ("2.00", "CHF", "0.8825", "1.77"),  # 1.765
        ("2.00", "SEK", "10.4525", "20.91"),  # 20.905
        # KWD is written with three decimals and priced in 10-fils steps Stripe can charge.
        ("10.00", "KWD", "0.3075", "3.080"),  # 3.075 -> 3.08
        ("10.00", "KWD", "0.30705", "3.070"),  # 3.0705 -> 3.07
        ("10.00", "KWD", "0.3074999999", "3.070"),
        ("17.07", "KWD", "0.3075", "5.250"),  # 5.249025
    ],
)
def test_conversion_rounds_half_up_to_the_currency_step(base, currency, rate, expected):
    converted = convert_from_base(Decimal(base), currency, Decimal(rate))

    assert converted == Money(Decimal(expected), currency)
    assert money_json(converted) == {"amount": expected, "currency": currency}


def test_kwd_amounts_keep_their_third_decimal_in_json():
    assert money_json(Money(Decimal("5.25"), "KWD")) == {"amount": "5.250", "currency": "KWD"}
    assert money_json(round_money(Decimal("0"), "KWD")) == {"amount": "0.000", "currency": "KWD"}
    assert money_json(Money(Decimal("1999"), "JPY")) == {"amount": "1999", "currency": "JPY"}
    assert money_json(Money(Decimal("19.9"), "USD")) == {"amount": "19.90", "currency": "USD"}


def test_unit_price_is_rounded_before_it_is_multiplied():
    # 0.99 USD x 0.9215 = 0.912285 -> 0.91 EUR a unit; ten units are 9.10, not 9.12.
    unit = convert_from_base(Decimal("0.99"), "EUR", Decimal("0.9215"))

    assert unit * 10 == Money(Decimal("9.10"), "EUR")


def test_base_currency_ignores_the_rate():
    assert convert_from_base(Decimal("19.99"), "USD", Decimal("7")) == Money(Decimal("19.99"), "USD")


# --- the property: what is shown is what Stripe charges -------------------------------------

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
rates_ = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("20000"), places=10).filter(lambda r: r > 0)
lines = st.lists(st.tuples(prices, st.integers(min_value=1, max_value=99)), min_size=1, max_size=5)


@hypothesis_settings(max_examples=300, deadline=None)
@given(currency=st.sampled_from(SHOP_CURRENCIES), rate=rates_, cart_lines=lines)
def test_line_totals_are_whole_minor_units_and_stripe_charges_the_displayed_total(currency, rate, cart_lines):
    step = price_step(currency)
    line_totals = []
    for price, quantity in cart_lines:
        line_total = convert_from_base(price, currency, rate) * quantity
        assert line_total.amount % step == 0
        assert line_total.amount % Decimal(1).scaleb(-minor_units(currency)) == 0
        line_totals.append(line_total)
    total = sum(line_totals[1:], line_totals[0])

    shown_json = money_json(total)["amount"]
    shown_page = format_money(total, "en_US")
    if Decimal(shown_json).scaleb(minor_units(currency)) > 99_999_999:
        with pytest.raises(AmountNotChargeable) as refused:
            stripe_amount(total)
        assert refused.value.reason == "maximum"
        return
    charged = stripe_amount(total)
    assert charged == int(Decimal(shown_json).scaleb(minor_units(currency)))
    assert charged == int(re.sub(r"\D", "", shown_page))
    assert charged == sum(stripe_amount(t) for t in line_totals)


# --- Stripe's table -----------------------------------------------------------------------

@pytest.mark.parametrize(
    "amount, currency, expected",
    [
        ("12.34", "USD", 1234), ("0.50", "EUR", 50), ("0.30", "GBP", 30), ("1999", "JPY", 1999),
        ("5.250", "KWD", 5250), ("10.00", "CHF", 1000), ("3.00", "SEK", 300), ("0.50", "CAD", 50),
        ("0.50", "AUD", 50), ("999999.99", "USD", 99_999_999), ("99999999", "JPY", 99_999_999),
        ("100", "ISK", 10000),  # sent x100 though it has no fractions
        ("5000", "KRW", 5000),
        ("1.230", "BHD", 1230),
    ],
)
def test_stripe_amounts_follow_stripes_table(amount, currency, expected):
    assert stripe_amount(Money(Decimal(amount), currency)) == expected


@pytest.mark.parametrize(
    "amount, currency, reason",
    [
        ("5.255", "KWD", "step"),  # thousandths must be a multiple of 10
        ("100.5", "ISK", "step"),
        ("0.005", "USD", "precision"),
        ("1999.5", "JPY", "precision"),
        ("1000000.00", "USD", "maximum"),  # nine digits
        ("100000000", "JPY", "maximum"),
    ],
)
def test_amounts_stripe_cannot_take_are_refused_not_rounded(amount, currency, reason):
    with pytest.raises(AmountNotChargeable) as refused:
        stripe_amount(Money(Decimal(amount), currency))

    assert refused.value.reason == reason
    assert isinstance(refused.value, InvalidInput)
    assert (refused.value.code, refused.value.status) == ("invalid", 400)
    assert refused.value.details == {"total": [refused.value.message]}


@pytest.mark.parametrize(
    "below, minimum, currency, shown",
    [
        ("0.49", "0.50", "USD", "$0.50"),
        ("0.49", "0.50", "EUR", "€0.50"),
        ("0.29", "0.30", "GBP", "£0.30"),
        ("49", "50", "JPY", "¥50"),
        ("2.99", "3.00", "SEK", "SEK\xa03.00"),
    ],
)
def test_charges_below_stripes_minimum_are_refused(below, minimum, currency, shown):
    check_chargeable(Money(Decimal(minimum), currency))

    with pytest.raises(AmountNotChargeable) as refused:
        check_chargeable(Money(Decimal(below), currency))

    assert refused.value.reason == "minimum"
    assert f"The smallest card payment in {currency} is {shown}" in refused.value.message


@pytest.mark.django_db
def test_minimum_without_a_stripe_figure_is_the_usd_minimum_at_todays_rate():
    store_rates({"KWD": "0.3075"})

    # 0.50 USD x 0.3075 = 0.15375 KWD, rounded up to a chargeable 10-fils step.
    assert minimum_charge("KWD") == Money(Decimal("0.160"), "KWD")
    check_chargeable(Money(Decimal("0.160"), "KWD"))
    with pytest.raises(AmountNotChargeable) as refused:
        check_chargeable(Money(Decimal("0.150"), "KWD"))
    assert refused.value.reason == "minimum"


def test_a_refund_below_the_minimum_charge_still_has_a_stripe_amount():
    assert stripe_amount(Money(Decimal("0.10"), "EUR")) == 10


# --- display (Babel/CLDR) -----------------------------------------------------------------

@pytest.mark.parametrize(
    "amount, currency, locale, shown",
    [
        ("1234.50", "USD", "en_US", "$1,234.50"),
        ("1234.50", "EUR", "de_DE", "1.234,50\xa0€"),
        ("1234.5", "EUR", "de", "1.234,50\xa0€"),
        ("1234.5", "EUR", "de-DE", "1.234,50\xa0€"),
        ("1999", "JPY", "en_US", "¥1,999"),
        ("1999", "JPY", "de_DE", "1.999\xa0¥"),
        ("5.250", "KWD", "en_US", "KWD\xa05.250"),
        ("5.25", "KWD", "en_US", "KWD\xa05.250"),
        ("1234.50", "GBP", "en_GB", "£1,234.50"),
        ("1234.50", "CHF", "de_CH", "CHF\xa01’234.50"),
        ("1234.50", "SEK", "sv_SE", "1\xa0234,50\xa0kr"),
        ("1234.50", "CAD", "en_US", "CA$1,234.50"),
        ("-3.5", "USD", "en_US", "-$3.50"),
        ("1234.50", "USD", "xx_NOWHERE", "$1,234.50"),
        ("1234.50", "USD", None, "$1,234.50"),
    ],
)
def test_prices_are_formatted_for_currency_and_locale(amount, currency, locale, shown):
    assert format_money(Money(Decimal(amount), currency), locale) == shown
