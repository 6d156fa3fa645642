"""Cart totals, computed in one function. Currency conversion, shipping, tax and discounts
all plug in here so the page, the API and the payment amount are the same numbers
(invariants 5, 6)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from moneyed import Money

from cart.models import Cart, CartLine, ShippingMethod
from currencies import rates
from currencies.money import convert_from_base, zero


@dataclass(frozen=True)
class PricedLine:
    line: CartLine
    unit_price_usd: Money
    unit_price: Money
    line_total: Money


@dataclass(frozen=True)
class CartTotals:
    currency: str
    rate: Decimal
    lines: list[PricedLine]
    subtotal: Money
    shipping: Money
    tax: Money
    discount: Money
    total: Money


def cart_rate(cart: Cart) -> Decimal:
    """The rate fixed at checkout start, else today's rate."""
    if cart.exchange_rate is not None:
        return cart.exchange_rate
    return rates.current_rate(cart.currency)


def price_cart(cart: Cart, lines: list[CartLine] | None = None, shipping_methods: dict[str, ShippingMethod] | None = None) -> CartTotals:
    """Totals of a cart whose lines come with `variant` loaded.

    Unit price = USD base x rate rounded half-up to the currency's price step, then x
    quantity; the subtotal sums the lines. From checkout start the USD prices and the
    rate are the ones quoted then, so the total cannot move under the shopper.
    """
    if lines is None:
        lines = list(cart.lines.select_related("variant__product"))
    currency = cart.currency
    rate = cart_rate(cart)
    priced = []
    subtotal = zero(currency)
    for line in lines:
        unit_usd = Money(line.quoted_unit_price_usd, settings.BASE_CURRENCY) if line.quoted_unit_price_usd is not None else line.variant.price
        unit = convert_from_base(unit_usd.amount, currency, rate)
        line_total = unit * line.quantity
        priced.append(PricedLine(line, unit_usd, unit, line_total))
        subtotal += line_total
    shipping = zero(currency)
    if cart.shipping_method and cart.quoted_shipping_usd is not None:
        shipping = convert_from_base(cart.quoted_shipping_usd, currency, rate)
    elif cart.shipping_method:
        methods = shipping_methods if shipping_methods is not None else {cart.shipping_method: ShippingMethod.objects.filter(code=cart.shipping_method).first()}
        method = methods.get(cart.shipping_method)
        if method is not None:
            shipping = convert_from_base(method.price.amount, currency, rate)
    tax = zero(currency)
    discount = zero(currency)
    total = subtotal + shipping + tax - discount
    return CartTotals(currency, rate, priced, subtotal, shipping, tax, discount, total)


def shipping_price(method: ShippingMethod, cart: Cart) -> Money:
    return convert_from_base(method.price.amount, cart.currency, cart_rate(cart))
