"""Sales figures for staff: revenue per day in USD and per currency, order count, average
order value, refunds, top products, the low-stock list, and the rows of the CSV exports.
Read-only selectors (the admin's sales overview, orders.report_admin, only calls them).

The rules, in one place:

- A day is a UTC day; a range is `start` to `end`, both included, at most 366 days.
- An order counts on the day it was created. Cancelled orders are left out of revenue,
  order count, average and refunds, and counted apart (how many, their value).
- An order in USD is `total / exchange_rate` (the rate it was made with: units of its
  currency per 1 USD), rounded half-up to the cent per order, in SQL; sums are of those
  rounded amounts. Refunds likewise, from `Order.refunded` (orders know nothing of the
  payments tables). The export's discount and tax in USD likewise, per order. A line in
  USD is `line_total / exchange_rate`, rounded per line.
- Per currency: the orders' own totals in that currency, unconverted.
- Every figure is computed by a constant number of queries, whatever the number of
  orders; the exports stream rows from a server-side cursor.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Round, TruncDate

from catalog.models import Variant
from currencies.money import quantum
from currencies.rates import rate_json
from inventory.selectors import annotate_availability, filter_by_stock_status
from orders.models import Order, OrderLine
from taxes.selectors import format_rate, rate_text

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30
TOP_PRODUCTS = 10
STOCK_ROWS_SHOWN = 50  # per list (low stock, out of stock); the page says when there are more

CENT = Decimal("0.01")
_ZERO = Decimal("0.00")
_AMOUNT = DecimalField(max_digits=20, decimal_places=2)


# --- the range ------------------------------------------------------------------------


@dataclass(frozen=True)
class DateRange:
    """UTC days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """The first instant after the range (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)


def default_range(*, today: date | None = None) -> DateRange:
    """The last 30 UTC days, today included."""
    today = today or datetime.now(UTC).date()
    return DateRange(start=today - timedelta(days=DEFAULT_RANGE_DAYS - 1), end=today)


def range_problems(*, start: date, end: date) -> dict[str, str]:
    """Why `start`..`end` cannot be reported on, by field ("from", "to"); empty when it can."""
    if end < start:
        return {"to": "The end date is before the start date."}
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        return {"to": f"A range covers at most {MAX_RANGE_DAYS} days; this one covers {(end - start).days + 1}."}
    return {}


# --- amounts --------------------------------------------------------------------------


def usd_of(amount_field: str, rate_field: str = "exchange_rate") -> Round:
    """amount / rate rounded half-up to the cent, as SQL (PostgreSQL's ROUND on numeric
    rounds halves away from zero: half-up for the amounts here, which are never negative)."""
    return Round(
        ExpressionWrapper(F(amount_field) / F(rate_field), output_field=DecimalField(max_digits=30, decimal_places=10)),
        2,
        output_field=_AMOUNT,
    )


def sum_or_zero(expression, **kwargs) -> Coalesce:
    return Coalesce(Sum(expression, **kwargs), Value(_ZERO), output_field=_AMOUNT)


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def in_minor_units(amount: Decimal, currency: str) -> Decimal:
    """An amount written with its currency's decimals (JPY 0, USD 2, KWD 3)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def _orders_in(date_range: DateRange) -> QuerySet[Order]:
    return Order.objects.filter(created_at__gte=date_range.since, created_at__lt=date_range.until).order_by()


_COUNTED = ~Q(status=Order.Status.CANCELLED)
_CANCELLED = Q(status=Order.Status.CANCELLED)


# --- the figures ----------------------------------------------------------------------


@dataclass(frozen=True)
class DayFigures:
    day: date
    orders: int
    revenue_usd: Decimal
    by_currency: tuple[tuple[str, Decimal], ...]  # (currency, revenue in it), by currency code


@dataclass(frozen=True)
class CurrencyFigures:
    currency: str
    orders: int
    revenue: Decimal  # in the currency itself
    revenue_usd: Decimal
    refunds: Decimal  # in the currency itself


@dataclass(frozen=True)
class ProductFigures:
    sku: str
    product_name: str
    units: int
    revenue_usd: Decimal


@dataclass(frozen=True)
class StockRow:
    variant_id: int
    sku: str
    product_name: str
    variant_name: str
    on_hand: int
    available: int
    threshold: int


@dataclass(frozen=True)
class StockList:
    rows: list[StockRow]
    more: bool  # more rows than STOCK_ROWS_SHOWN


@dataclass(frozen=True)
class SalesTotals:
    orders: int
    revenue_usd: Decimal
    average_order_usd: Decimal
    refunds_usd: Decimal  # on the orders counted (cancelled ones are apart)
    net_usd: Decimal  # revenue minus refunds
    cancelled_orders: int
    cancelled_usd: Decimal  # the cancelled orders' totals
    cancelled_refunds_usd: Decimal  # what was refunded of them


@dataclass(frozen=True)
class SalesOverview:
    date_range: DateRange
    totals: SalesTotals
    days: list[DayFigures]
    currencies: list[CurrencyFigures]
    top_products: list[ProductFigures]
    low_stock: StockList
    out_of_stock: StockList


def sales_totals(*, date_range: DateRange) -> SalesTotals:
    """The range's totals, in one query."""
    figures = _orders_in(date_range).aggregate(
        orders=Count("id", filter=_COUNTED),
        revenue_usd=sum_or_zero(usd_of("total"), filter=_COUNTED),
        refunds_usd=sum_or_zero(usd_of("refunded"), filter=_COUNTED),
        cancelled_orders=Count("id", filter=_CANCELLED),
        cancelled_usd=sum_or_zero(usd_of("total"), filter=_CANCELLED),
        cancelled_refunds_usd=sum_or_zero(usd_of("refunded"), filter=_CANCELLED),
    )
    orders, revenue = figures["orders"], figures["revenue_usd"]
    return SalesTotals(
        orders=orders,
        revenue_usd=to_cents(revenue),
        average_order_usd=to_cents(revenue / orders) if orders else _ZERO,
        refunds_usd=to_cents(figures["refunds_usd"]),
        net_usd=to_cents(revenue - figures["refunds_usd"]),
        cancelled_orders=figures["cancelled_orders"],
        cancelled_usd=to_cents(figures["cancelled_usd"]),
        cancelled_refunds_usd=to_cents(figures["cancelled_refunds_usd"]),
    )


def daily_revenue(*, date_range: DateRange) -> list[DayFigures]:
    """Every day of the range (days without orders at zero): orders counted, revenue in
    USD, and revenue per currency. Two grouped queries."""
    counted = _orders_in(date_range).filter(_COUNTED).annotate(day=TruncDate("created_at", tzinfo=UTC))
    usd_rows = counted.values("day").annotate(orders=Count("id"), revenue_usd=sum_or_zero(usd_of("total")))
    per_day = {row["day"]: (row["orders"], row["revenue_usd"]) for row in usd_rows}
    currency_rows = counted.values("day", "currency").annotate(revenue=Sum("total")).order_by("day", "currency")
    per_currency: dict[date, list[tuple[str, Decimal]]] = {}
    for row in currency_rows:
        per_currency.setdefault(row["day"], []).append((row["currency"], in_minor_units(row["revenue"], row["currency"])))
    return [
        DayFigures(
            day=day,
            orders=per_day.get(day, (0, _ZERO))[0],
            revenue_usd=to_cents(per_day.get(day, (0, _ZERO))[1]),
            by_currency=tuple(per_currency.get(day, ())),
        )
        for day in date_range.days
    ]


def currency_revenue(*, date_range: DateRange) -> list[CurrencyFigures]:
    """Per currency over the range (cancelled orders left out), by revenue in USD."""
    rows = (
        _orders_in(date_range)
        .filter(_COUNTED)
        .values("currency")
        .annotate(orders=Count("id"), revenue=Sum("total"), revenue_usd=sum_or_zero(usd_of("total")), refunds=Sum("refunded"))
        .order_by("-revenue_usd", "currency")
    )
    return [
        CurrencyFigures(
            currency=row["currency"],
            orders=row["orders"],
            revenue=in_minor_units(row["revenue"], row["currency"]),
            revenue_usd=to_cents(row["revenue_usd"]),
            refunds=in_minor_units(row["refunds"], row["currency"]),
        )
        for row in rows
    ]


def top_products(*, date_range: DateRange, limit: int = TOP_PRODUCTS) -> list[ProductFigures]:
    """The SKUs sold most (units) on the range's orders, cancelled ones left out, with their
    revenue in USD (each line at its order's rate). A SKU sold under several product names
    (a renamed product) is one row, with the alphabetically last of them."""
    rows = (
        OrderLine.objects.filter(order__created_at__gte=date_range.since, order__created_at__lt=date_range.until)
        .exclude(order__status=Order.Status.CANCELLED)
        .values("sku")
        .annotate(product_name=Max("product_name"), units=Sum("quantity"), revenue_usd=sum_or_zero(usd_of("line_total", "order__exchange_rate")))
        .order_by("-units", "-revenue_usd", "sku")[:limit]
    )
    return [
        ProductFigures(sku=row["sku"], product_name=row["product_name"], units=row["units"], revenue_usd=to_cents(row["revenue_usd"]))
        for row in rows
    ]


def _stock_list(status: str, *, limit: int) -> StockList:
    variants = annotate_availability(Variant.objects.filter(is_active=True, product__is_active=True))
    rows = list(
        filter_by_stock_status(variants, status)  # type: ignore[arg-type]
        .order_by("available", "sku")
        .values_list("pk", "sku", "product__name", "name", "attributes", "on_hand_now", "available", "low_stock_threshold_now")[
            : limit + 1
        ]
    )
    return StockList(
        rows=[
            StockRow(
                variant_id=pk, sku=sku, product_name=product_name,
                variant_name=name or ", ".join(str(value) for value in (attributes or {}).values()),
                on_hand=on_hand, available=available, threshold=threshold,
            )
            for pk, sku, product_name, name, attributes, on_hand, available, threshold in rows[:limit]
        ],
        more=len(rows) > limit,
    )


def low_stock(*, limit: int = STOCK_ROWS_SHOWN) -> StockList:
    """Active variants at or below their low-stock threshold but not out (inventory's rule)."""
    return _stock_list("low_stock", limit=limit)


def out_of_stock(*, limit: int = STOCK_ROWS_SHOWN) -> StockList:
    """Active variants with nothing available (live reservations count as taken)."""
    return _stock_list("out_of_stock", limit=limit)


def sales_overview(*, start: date, end: date) -> SalesOverview:
    """Everything the sales overview page shows, in a fixed number of queries (seven).
    Raises ValueError for a range range_problems refuses."""
    problems = range_problems(start=start, end=end)
    if problems:
        raise ValueError("; ".join(problems.values()))
    date_range = DateRange(start=start, end=end)
    return SalesOverview(
        date_range=date_range,
        totals=sales_totals(date_range=date_range),
        days=daily_revenue(date_range=date_range),
        currencies=currency_revenue(date_range=date_range),
        top_products=top_products(date_range=date_range),
        low_stock=low_stock(),
        out_of_stock=out_of_stock(),
    )


# --- the CSV exports ------------------------------------------------------------------

EXPORT_CHUNK_SIZE = 2000
# New columns go at the end, so a spreadsheet built on an older export keeps its columns.
ORDER_COLUMNS = (
    "number", "created_at", "status", "payment_status", "currency", "total", "refunded", "exchange_rate", "total_usd", "email",
    "discount_code", "discount", "discount_usd", "tax", "tax_usd", "tax_lines", "prices_include_tax",
)
LINE_COLUMNS = (
    "number", "created_at", "sku", "product", "variant", "quantity", "unit_price", "currency", "line_total", "unit_price_usd",
    "discount", "tax", "tax_rate",
)
# A spreadsheet runs a cell that starts with one of these as a formula; emails and product
# names come from users, so such cells are written with a leading apostrophe (OWASP's
# "CSV injection" advice; tab and carriage return included for the same reason).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A text cell made safe to open in a spreadsheet. Numbers and dates are left alone."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def tax_lines_cell(tax_lines: list[dict[str, str]] | None, currency: str) -> str:
    """An order's tax by rate in one cell: "VAT 19%: 3.19; VAT 7%: 0.70" (amounts in the
    order's currency, with its minor units)."""
    return "; ".join(
        f"{line['name']} {format_rate(Decimal(line['rate']))}%: {in_minor_units(Decimal(line['amount']), currency)}"
        for line in tax_lines or []
    )


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _check(date_range: DateRange) -> None:
    problems = range_problems(start=date_range.start, end=date_range.end)
    if problems:
        raise ValueError("; ".join(problems.values()))


def order_export_rows(*, start: date, end: date) -> Iterator[list[Any]]:
    """The header, then one row per order created in the range (cancelled ones included),
    oldest first: read in chunks through a server-side cursor, no model instances."""
    date_range = DateRange(start=start, end=end)
    _check(date_range)
    rows: Iterable[tuple] = (
        _orders_in(date_range)
        .annotate(total_usd=usd_of("total"), discount_usd=usd_of("discount"), tax_usd=usd_of("tax"))
        .order_by("created_at", "id")
        .values_list(
            "number", "created_at", "status", "payment_status", "currency", "total", "refunded", "exchange_rate", "total_usd", "email",
            "discount_code", "discount", "discount_usd", "tax", "tax_usd", "tax_lines", "prices_include_tax",
        )
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )

    def generate() -> Iterator[list[Any]]:
        yield list(ORDER_COLUMNS)
        for (
            number, created_at, status, payment_status, currency, total, refunded, rate, total_usd, email,
            discount_code, discount, discount_usd, tax, tax_usd, tax_lines, prices_include_tax,
        ) in rows:
            yield [
                csv_cell(number), _timestamp(created_at), status, payment_status, currency,
                in_minor_units(total, currency), in_minor_units(refunded, currency), rate_json(rate), to_cents(total_usd),
                csv_cell(email), csv_cell(discount_code), in_minor_units(discount, currency), to_cents(discount_usd),
                in_minor_units(tax, currency), to_cents(tax_usd), csv_cell(tax_lines_cell(tax_lines, currency)),
                "yes" if prices_include_tax else "no",
            ]

    return generate()


def line_export_rows(*, start: date, end: date) -> Iterator[list[Any]]:
    """The header, then one row per order line of the orders created in the range
    (cancelled ones included), in order and line order, streamed like the orders."""
    date_range = DateRange(start=start, end=end)
    _check(date_range)
    rows: Iterable[tuple] = (
        OrderLine.objects.filter(order__created_at__gte=date_range.since, order__created_at__lt=date_range.until)
        .order_by("order__created_at", "order_id", "id")
        .values_list(
            "order__number", "order__created_at", "sku", "product_name", "variant_name", "quantity", "unit_price",
            "order__currency", "line_total", "unit_price_usd", "discount", "tax", "tax_rate",
        )
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )

    def generate() -> Iterator[list[Any]]:
        yield list(LINE_COLUMNS)
        for (
            number, created_at, sku, product, variant, quantity, unit_price, currency, line_total, unit_price_usd,
            discount, tax, tax_rate,
        ) in rows:
            yield [
                csv_cell(number), _timestamp(created_at), csv_cell(sku), csv_cell(product), csv_cell(variant), quantity,
                in_minor_units(unit_price, currency), currency, in_minor_units(line_total, currency), to_cents(unit_price_usd),
                in_minor_units(discount, currency), in_minor_units(tax, currency), "" if tax_rate is None else rate_text(tax_rate),
            ]

    return generate()
