"""Cart totals, computed in one function (invariant 17). Currency conversion, discount,
shipping and tax all happen here, in this order, so the page, the API, the payment
amount and the order are the same numbers (invariants 5, 6):

1. Lines: each unit price is the USD base x rate rounded half-up to the currency's price
   step, times the quantity; the subtotal is their sum.
2. Discount: a percentage of the lines the code covers (rounded like prices), or a fixed
   USD amount converted at the cart's rate, never more than those lines; it is shared
   across them in proportion to their totals (to the minor unit, largest remainders
   first), so each line's tax is on what is actually paid for it.
3. Shipping: the chosen method's USD price for the cart's weight, converted; free when
   the subtotal after the discount reaches the method's threshold (converted), or with a
   free-shipping code.
4. Tax: each line's rate (by the shipping address's country and region, and the
   product's category) on the line after its discount, rounded per line; shipping taxed
   at the destination's general rate where that country taxes shipping. With
   PRICES_INCLUDE_TAX the prices already hold the tax, which is extracted
   (amount x rate / (100 + rate)); otherwise it is added.
5. Total: subtotal - discount + shipping (+ tax when it is added). Never negative: the
   discount never exceeds the lines it covers.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from moneyed import Money

from cart.models import Cart, CartLine
from currencies import rates
from currencies.money import convert_from_base, format_money, price_step, round_money, zero
from discounts import selectors as discounts
from discounts.models import DiscountCode
from shipping import selectors as shipping
from taxes.selectors import NO_TAX, TaxRule, TaxTable, tax_table

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PricedLine:
    line: CartLine
    unit_price_usd: Money
    unit_price: Money
    line_total: Money
    discount: Money  # this line's share of the discount
    tax: Money  # on line_total - discount; included in it when prices include tax
    tax_rate: Decimal | None  # percent, None when untaxed


@dataclass(frozen=True)
class TaxLine:
    name: str
    rate: Decimal
    amount: Money

    @property
    def label(self) -> str:
        return TaxRule(self.name, self.rate).label


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
    tax_lines: list[TaxLine] = field(default_factory=list)
    prices_include_tax: bool = False
    # The code the cart carries, and why it gives nothing now (a reason of
    # discounts.selectors), with the sentence the shopper reads.
    discount_code: str = ""
    discount_problem: str | None = None
    discount_message: str = ""
    free_shipping: bool = False  # the chosen method ships free (threshold reached or a code)
    free_shipping_code: bool = False  # the code gives free shipping
    shipping_tax: Money | None = None
    weight_grams: int = 0
    # Tax needs the shipping address; before it is known no tax is worked out.
    tax_known: bool = False


def cart_rate(cart: Cart) -> Decimal:
    """The rate fixed at checkout start, else today's rate."""
    if cart.exchange_rate is not None:
        return cart.exchange_rate
    return rates.current_rate(cart.currency)


def cart_weight(lines: Iterable[CartLine]) -> int:
    """Grams of the parcel: each variant's weight (else its product's) x quantity."""
    return sum(line.variant.shipping_weight_grams * line.quantity for line in lines)


def _country(cart: Cart) -> str | None:
    return (cart.shipping_address or {}).get("country") or None


def _region(cart: Cart) -> str | None:
    return (cart.shipping_address or {}).get("region") or None


def _share(amount: Money, weights: list[Money], currency: str) -> list[Money]:
    """`amount` split across lines in proportion to `weights`, in price steps, the
    remainder to the largest fractions first, so the shares add up exactly."""
    step = price_step(currency)
    total_steps = int(amount.amount / step)
    weight_sum = sum((w.amount for w in weights), Decimal(0))
    if not weights or weight_sum == 0:
        return [zero(currency) for _ in weights]
    exact = [Decimal(total_steps) * w.amount / weight_sum for w in weights]
    steps = [int(x) for x in exact]
    by_fraction = sorted(range(len(weights)), key=lambda i: (exact[i] - steps[i], -i), reverse=True)
    for i in by_fraction[: total_steps - sum(steps)]:
        steps[i] += 1
    return [round_money(s * step, currency) for s in steps]


def ships_free(after_discount: Money, free_over: Money | None, *, by_code: bool) -> bool:
    """The free-shipping rule: a free-shipping code, or a subtotal after discounts that
    reaches the method's threshold (in the cart's currency)."""
    return by_code or (free_over is not None and after_discount >= free_over)


def _tax_on(amount: Money, rate: Decimal, *, included: bool) -> Money:
    """Tax at `rate` percent on `amount`, rounded like prices: extracted from a gross
    amount or added to a net one."""
    if rate == 0 or amount.amount == 0:
        return zero(amount.currency.code)
    divisor = HUNDRED + rate if included else HUNDRED
    return round_money(amount.amount * rate / divisor, amount.currency.code)


def price_cart(cart: Cart, lines: list[CartLine] | None = None, *, now: datetime | None = None) -> CartTotals:
    """Totals of a cart whose lines come with `variant__product` loaded (the steps are
    in the module's docstring).

    From checkout start the USD prices and the rate are the ones quoted then, and the
    shipping price the one quoted when the method was chosen, so the total cannot move
    under the shopper.
    """
    if lines is None:
        lines = list(cart.lines.select_related("variant__product"))
    now = now or timezone.now()
    currency = cart.currency
    rate = cart_rate(cart)
    include_tax = settings.PRICES_INCLUDE_TAX

    # 1. lines
    base = []
    subtotal = zero(currency)
    for line in lines:
        unit_usd = (
            Money(line.quoted_unit_price_usd, settings.BASE_CURRENCY)
            if line.quoted_unit_price_usd is not None
            else line.variant.price
        )
        unit = convert_from_base(unit_usd.amount, currency, rate)
        line_total = unit * line.quantity
        base.append((line, unit_usd, unit, line_total))
        subtotal += line_total

    # 2. discount
    discount = zero(currency)
    shares = [zero(currency) for _ in base]
    free_shipping_code = False
    problem = None
    message = ""
    code = cart.discount_code
    if code:
        terms, problem = discounts.terms_for(code, holder_id=cart.pk, now=now)
        if terms is not None and problem is None:
            covered = [i for i, (line, *_rest) in enumerate(base) if terms.covers(line.variant.product_id, line.variant.product.category_id)]
            minimum = convert_from_base(terms.min_subtotal_usd, currency, rate) if terms.min_subtotal_usd else None
            if not covered:
                problem = discounts.NOT_IN_CART
            elif minimum is not None and subtotal < minimum:
                problem = discounts.MINIMUM_NOT_MET
                message = discounts.reason_sentence(problem, code, minimum=format_money(minimum))
            else:
                covered_total = sum((base[i][3] for i in covered), zero(currency))
                if terms.kind == DiscountCode.Kind.PERCENT:
                    discount = round_money(covered_total.amount * terms.value / HUNDRED, currency)
                elif terms.kind == DiscountCode.Kind.FIXED:
                    discount = convert_from_base(terms.value, currency, rate)
                else:
                    free_shipping_code = True
                discount = min(discount, covered_total)
                for i, share in zip(covered, _share(discount, [base[i][3] for i in covered], currency)):
                    shares[i] = share
        if problem is not None and not message:
            message = discounts.reason_sentence(problem, code)

    # 3. shipping
    weight = cart_weight(lines)
    shipping_amount = zero(currency)
    free_shipping = False
    if cart.shipping_method:
        price_usd, free_over_usd = cart.quoted_shipping_usd, cart.quoted_free_over_usd
        if price_usd is None:
            method = shipping.method_for(_country(cart), cart.shipping_method, weight)
            if method is not None:
                price_usd, free_over_usd = method.price_usd, method.free_over_usd
        if price_usd is not None:
            free_over = convert_from_base(free_over_usd, currency, rate) if free_over_usd is not None else None
            free_shipping = ships_free(subtotal - discount, free_over, by_code=free_shipping_code)
            shipping_amount = zero(currency) if free_shipping else convert_from_base(price_usd, currency, rate)

    # 4. tax
    country = _country(cart)
    table: TaxTable = tax_table(country, _region(cart)) if country else NO_TAX
    priced: list[PricedLine] = []
    by_rule: dict[tuple[str, Decimal], Money] = {}
    for (line, unit_usd, unit, line_total), share in zip(base, shares):
        rule = table.rule_for(line.variant.product.category_id)
        tax = _tax_on(line_total - share, rule.rate, included=include_tax) if rule else zero(currency)
        priced.append(PricedLine(line, unit_usd, unit, line_total, share, tax, rule.rate if rule else None))
        if rule and tax.amount:
            by_rule[(rule.name, rule.rate)] = by_rule.get((rule.name, rule.rate), zero(currency)) + tax
    shipping_tax = None
    if table.shipping and shipping_amount.amount:
        shipping_tax = _tax_on(shipping_amount, table.shipping.rate, included=include_tax)
        key = (table.shipping.name, table.shipping.rate)
        by_rule[key] = by_rule.get(key, zero(currency)) + shipping_tax
    tax_lines = [TaxLine(name, rule_rate, amount) for (name, rule_rate), amount in sorted(by_rule.items(), key=lambda kv: -kv[0][1])]
    tax = sum((t.amount for t in tax_lines), zero(currency))

    # 5. total
    total = subtotal - discount + shipping_amount + (zero(currency) if include_tax else tax)
    total = max(total, zero(currency))
    return CartTotals(
        currency, rate, priced, subtotal, shipping_amount, tax, discount, total,
        tax_lines=tax_lines,
        prices_include_tax=include_tax,
        discount_code=code,
        discount_problem=problem,
        discount_message=message,
        free_shipping=free_shipping,
        free_shipping_code=free_shipping_code,
        shipping_tax=shipping_tax,
        weight_grams=weight,
        tax_known=country is not None,
    )


@dataclass(frozen=True)
class ShippingOption:
    """A method offered to the cart: what it would pay for it, in the cart's currency."""

    code: str
    name: str
    price: Money  # after a free-shipping threshold or code
    regular_price: Money
    free_over: Money | None
    min_days: int
    max_days: int


def shipping_options(cart: Cart, totals: CartTotals | None = None) -> list[ShippingOption]:
    """The methods of the zone of the cart's shipping address that can take its parcel,
    each priced for this cart (its weight, currency, rate, discount and free-shipping
    thresholds). None without an address."""
    totals = totals or price_cart(cart)
    currency, rate = totals.currency, totals.rate
    after_discount = totals.subtotal - totals.discount
    options = []
    for method in shipping.methods_for(_country(cart), totals.weight_grams):
        regular = convert_from_base(method.price_usd, currency, rate)
        free_over = convert_from_base(method.free_over_usd, currency, rate) if method.free_over_usd is not None else None
        free = ships_free(after_discount, free_over, by_code=totals.free_shipping_code)
        options.append(
            ShippingOption(method.code, method.name, zero(currency) if free else regular, regular, free_over, method.min_days, method.max_days)
        )
    return options
