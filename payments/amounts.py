"""Between the shop's Money and Stripe's integer amounts. The rules of what Stripe wants
per currency live in currencies.money (stripe_amount, check_chargeable, stripe_decimals); this
module only adds the way back, from the same table so the two never disagree."""
from __future__ import annotations

from decimal import Decimal

from moneyed import Money

from currencies.money import check_chargeable, round_money, stripe_amount, stripe_decimals


def to_stripe(money: Money) -> int:
    """The amount to charge, checked against Stripe's minimum and maximum charges."""
    check_chargeable(money)
    return stripe_amount(money)


def from_stripe(amount: int, currency: str) -> Money:
    """An amount Stripe reported (a refund, a charge) as Money in that currency."""
    code = currency.upper()
    return round_money(Decimal(int(amount)).scaleb(-stripe_decimals(code)), code)
