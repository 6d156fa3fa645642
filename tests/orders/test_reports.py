"""The admin's sales overview and its CSV exports (orders.reports, orders.report_admin):
figures to the cent in several currencies, the range rules, the streamed exports, who may
see them, and a query count that does not grow with the orders."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from moneyed import Money

from orders import reports
from orders.models import Order, OrderLine
from orders.report_admin import revenue_chart

DAY_1, DAY_2 = date(2025, 3, 10), date(2025, 3, 11)
PAGE = "admin:orders_salesoverview_changelist"
ORDERS_CSV = "admin:orders_salesoverview_orders_csv"
LINES_CSV = "admin:orders_salesoverview_lines_csv"
RANGE = {"from": "2025-03-10", "to": "2025-03-11"}


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


@pytest.fixture
def make_order(make_cart):
    """make_order(number, currency, rate, total, at=..., lines=[(sku, name, qty, unit, unit_usd)], ...)."""

    def make(
        number: str, currency: str, rate: str, total: str, *, created: datetime, refunded: str = "0",
        status: str = Order.Status.PAID, payment_status: str = Order.PaymentStatus.PAID,
        email: str = "shopper@example.com", lines: tuple = (),
    ) -> Order:
        def money(amount: str | Decimal) -> Money:
            return Money(Decimal(amount), currency)

        order = Order.objects.create(
            number=number, cart=make_cart(), currency=currency, exchange_rate=Decimal(rate), email=email,
            shipping_address={"name": "Ada", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
            subtotal=money(total), shipping=money("0"), tax=money("0"), discount=money("0"), total=money(total),
            refunded=money(refunded), status=status, payment_status=payment_status,
        )
        Order.objects.filter(pk=order.pk).update(created_at=created)  # created_at is auto_now_add
        for sku, name, quantity, unit, unit_usd in lines:
            OrderLine.objects.create(
                order=order, sku=sku, product_name=name, variant_name="M" if sku == "LIN-M" else "", quantity=quantity,
                unit_price_usd=Money(Decimal(unit_usd), "USD"), unit_price=money(unit),
                line_total=money(Decimal(unit) * quantity),
            )
        order.refresh_from_db()
        return order

    return make


@pytest.fixture
def sales(make_order):
    """Two days of orders in USD, EUR and JPY, one partly refunded, one cancelled, and
    orders just outside the range on both sides."""
    return {
        "usd": make_order(
            "2025-000101", "USD", "1", "54.90", created=at(DAY_1, 0, 0, 0),
            lines=[("LIN-M", "Linen shirt", 1, "49.90", "49.90")],
        ),
        # 45.99 / 0.9215 = 49.9077 -> 49.91; refunded 10.00 / 0.9215 = 10.8519 -> 10.85
        "eur": make_order(
            "2025-000102", "EUR", "0.9215", "45.99", created=at(DAY_1, 18), refunded="10.00",
            payment_status=Order.PaymentStatus.PARTIALLY_REFUNDED, email="=1+1@example.com",
            lines=[("MUG-1", '=HYPERLINK("http://evil.example","mug")', 2, "19.99", "21.69")],
        ),
        # 7480 / 151.37 = 49.4153 -> 49.42; its line 6000 / 151.37 = 39.638 -> 39.64
        "jpy": make_order(
            "2025-000103", "JPY", "151.37", "7480", created=at(DAY_2, 23, 59, 59),
            lines=[("MUG-1", "Mug", 3, "2000", "13.21")],
        ),
        "cancelled": make_order(
            "2025-000104", "USD", "1", "20.00", created=at(DAY_2, 9), refunded="20.00", status=Order.Status.CANCELLED,
            payment_status=Order.PaymentStatus.REFUNDED, lines=[("LIN-M", "Linen shirt", 5, "4.00", "4.00")],
        ),
        "before": make_order("2025-000100", "USD", "1", "999.00", created=at(DAY_1 - timedelta(days=1), 23, 59, 59)),
        "after": make_order("2025-000105", "USD", "1", "888.00", created=at(DAY_2 + timedelta(days=1), 0, 0, 0)),
    }


# --- the figures ----------------------------------------------------------------------


def test_figures_to_the_cent_in_usd_eur_and_jpy(sales):
    overview = reports.sales_overview(start=DAY_1, end=DAY_2)
    totals = overview.totals

    assert totals.orders == 3  # the cancelled one apart
    assert totals.revenue_usd == Decimal("154.23")  # 54.90 + 49.91 + 49.42
    assert totals.average_order_usd == Decimal("51.41")
    assert totals.refunds_usd == Decimal("10.85")
    assert totals.net_usd == Decimal("143.38")
    assert (totals.cancelled_orders, totals.cancelled_usd, totals.cancelled_refunds_usd) == (1, Decimal("20.00"), Decimal("20.00"))


def test_revenue_per_day_and_per_currency(sales):
    overview = reports.sales_overview(start=DAY_1, end=DAY_2)

    assert [(d.day, d.orders, d.revenue_usd, d.by_currency) for d in overview.days] == [
        (DAY_1, 2, Decimal("104.81"), (("EUR", Decimal("45.99")), ("USD", Decimal("54.90")))),
        (DAY_2, 1, Decimal("49.42"), (("JPY", Decimal("7480")),)),
    ]
    assert [(c.currency, c.orders, c.revenue, c.revenue_usd, c.refunds) for c in overview.currencies] == [
        ("USD", 1, Decimal("54.90"), Decimal("54.90"), Decimal("0.00")),
        ("EUR", 1, Decimal("45.99"), Decimal("49.91"), Decimal("10.00")),
        ("JPY", 1, Decimal("7480"), Decimal("49.42"), Decimal("0")),
    ]


def test_days_without_orders_are_zero_and_utc_days_bound_the_range(sales):
    days = reports.daily_revenue(date_range=reports.DateRange(start=DAY_1 - timedelta(days=2), end=DAY_2 + timedelta(days=1)))

    assert [(d.day, d.orders, d.revenue_usd) for d in days] == [
        (DAY_1 - timedelta(days=2), 0, Decimal("0.00")),
        (DAY_1 - timedelta(days=1), 1, Decimal("999.00")),  # 23:59:59 the day before
        (DAY_1, 2, Decimal("104.81")),  # from 00:00:00
        (DAY_2, 1, Decimal("49.42")),  # to 23:59:59
        (DAY_2 + timedelta(days=1), 1, Decimal("888.00")),
    ]


def test_usd_is_rounded_half_up_per_order_before_summing(make_order):
    # 4.938 KWD at 0.4 KWD per USD is exactly 12.345 USD: half-up gives 12.35 (banker's
    # rounding would give 12.34); two such orders make 24.70, not round(24.69).
    make_order("2025-000201", "KWD", "0.4", "4.938", created=at(DAY_1, 8))
    make_order("2025-000202", "KWD", "0.4", "4.938", created=at(DAY_1, 9))

    totals = reports.sales_totals(date_range=reports.DateRange(start=DAY_1, end=DAY_1))

    assert totals.revenue_usd == Decimal("24.70")
    assert totals.average_order_usd == Decimal("12.35")


def test_top_products_by_units_leave_cancelled_orders_out(sales, make_order):
    for n in range(11):  # eleven more SKUs selling one unit each: only ten rows in all
        make_order(f"2025-0003{n:02}", "USD", "1", "5.00", created=at(DAY_1, 10), lines=[(f"X-{n:02}", f"Extra {n}", 1, "5.00", "5.00")])

    top = reports.top_products(date_range=reports.DateRange(start=DAY_1, end=DAY_2))

    assert len(top) == 10
    # MUG-1: 2 + 3 units, 39.98 / 0.9215 = 43.39 plus 6000 / 151.37 = 39.64. LIN-M: 1 unit
    # (the cancelled order's five are not sales).
    assert [(p.sku, p.units, p.revenue_usd) for p in top[:2]] == [("MUG-1", 5, Decimal("83.03")), ("LIN-M", 1, Decimal("49.90"))]
    assert [p.sku for p in top[2:]] == [f"X-{n:02}" for n in range(8)]  # ties: by revenue, then SKU


def test_low_and_out_of_stock_lists_come_from_inventory(make_variant):
    make_variant("PLENTY", on_hand=20, threshold=3)
    make_variant("LOW", on_hand=2, threshold=3)
    make_variant("OUT", on_hand=0, threshold=3)

    assert [row.sku for row in reports.low_stock().rows] == ["LOW"]
    assert [(row.sku, row.available) for row in reports.out_of_stock().rows] == [("OUT", 0)]
    assert reports.low_stock(limit=0).more is True


def test_an_empty_range_has_zero_figures(db):
    overview = reports.sales_overview(start=DAY_1, end=DAY_2)

    assert (overview.totals.orders, overview.totals.revenue_usd, overview.totals.average_order_usd) == (0, Decimal("0.00"), Decimal("0.00"))
    assert overview.currencies == [] and overview.top_products == []


# --- the range --------------------------------------------------------------------------


def test_the_range_rules():
    assert reports.range_problems(start=DAY_1, end=DAY_1) == {}
    assert reports.range_problems(start=date(2024, 1, 1), end=date(2024, 12, 31)) == {}  # 366 days
    assert "before the start" in reports.range_problems(start=DAY_2, end=DAY_1)["to"]
    assert "at most 366 days" in reports.range_problems(start=date(2024, 1, 1), end=date(2025, 1, 1))["to"]
    with pytest.raises(ValueError):
        reports.sales_overview(start=DAY_2, end=DAY_1)


def test_the_page_defaults_to_the_last_30_days(admin_client):
    response = admin_client.get(reverse(PAGE))

    assert response.status_code == 200
    date_range = response.context["overview"].date_range
    today = datetime.now(UTC).date()
    assert (date_range.start, date_range.end) == (today - timedelta(days=29), today)
    assert len(response.context["overview"].days) == 30


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"from": "2025-03-11", "to": "2025-03-10"}, "to", "The end date is before the start date."),
        ({"from": "2024-01-01", "to": "2025-01-01"}, "to", "A range covers at most 366 days; this one covers 367."),
        ({"from": "2025-02-30", "to": "2025-03-10"}, "from", "Enter a valid date."),
        ({"from": "2025-03-01", "to": "yesterday"}, "to", "Enter a valid date."),
    ],
)
def test_a_bad_range_is_refused_next_to_its_field(admin_client, query, field, message):
    response = admin_client.get(reverse(PAGE), query)

    assert response.status_code == 200
    assert response.context["overview"] is None
    assert response.context["form"].errors == {field: [message]}
    html = response.content.decode()
    errors = re.search(rf'<div class="report-field-errors" id="id_{field}_errors">(.*?)</div>', html, re.S)
    assert errors and message in errors.group(1)
    assert 'aria-describedby="id_%s_errors"' % field in html
    assert 'role="img"' not in html  # no chart
    for export in (ORDERS_CSV, LINES_CSV):
        refused = admin_client.get(reverse(export), query)
        assert refused.status_code == 400 and message in refused.content.decode()


# --- the page ---------------------------------------------------------------------------


def test_the_page_shows_the_figures_and_an_accessible_chart(admin_client, sales):
    response = admin_client.get(reverse(PAGE), RANGE)

    assert response.status_code == 200
    html = response.content.decode()
    for text in ("154.23", "51.41", "10.85", "143.38", "7,480 JPY", "45.99 EUR", "MUG-1", "Linen shirt"):
        assert text in html, text
    svg = re.search(r'<svg[^>]*role="img".*?</svg>', html, re.S).group(0)
    assert 'role="img"' in svg and 'viewBox="0 0 640 320"' in svg and 'width="100%"' in svg
    assert '<title id="chart-title">Revenue per day in USD' in svg
    assert svg.count("<rect") == 2  # one bar per day
    assert "Mon 10 Mar 2025: 104.81 USD, 2 orders" in svg
    assert "<script" not in html.split('id="content-main"')[1]  # no chart library
    assert '<caption id="days-caption">Revenue per day</caption>' in html  # the same figures as a table
    assert f'{reverse(ORDERS_CSV)}?from=2025-03-10&amp;to=2025-03-11' in html
    assert f'{reverse(LINES_CSV)}?from=2025-03-10&amp;to=2025-03-11' in html


def test_the_chart_has_round_gridlines_and_a_few_day_labels():
    days = [reports.DayFigures(day=date(2025, 1, 1) + timedelta(days=n), orders=1, revenue_usd=Decimal(n * 37), by_currency=()) for n in range(90)]

    chart = revenue_chart(days)

    assert [tick.label for tick in chart.y_ticks] == ["0", "1k", "2k", "3k", "4k"]  # highest 3,293
    assert len(chart.bars) == 90 and len(chart.x_ticks) <= 8
    assert chart.bars[-1].y == pytest.approx(chart.y_ticks[0].at - chart.bars[-1].height)
    empty = revenue_chart([reports.DayFigures(day=DAY_1, orders=0, revenue_usd=Decimal("0.00"), by_currency=())])
    assert [tick.label for tick in empty.y_ticks] == ["0", "25"] and empty.bars[0].height == 0


def test_the_page_is_listed_under_orders_in_the_admin_index(admin_client):
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse(PAGE)}"' in index
    orders = admin_client.get(reverse("admin:app_list", args=["orders"])).content.decode()
    assert "Sales overview" in orders


def test_the_proxy_opens_no_other_admin_pages():
    for name in ("add", "change", "delete", "history"):
        with pytest.raises(NoReverseMatch):
            reverse(f"admin:orders_salesoverview_{name}", args=[1] if name != "add" else [])


def test_the_page_query_count_does_not_grow_with_the_orders(admin_client, make_order, make_variant):
    make_variant("LOW", on_hand=1, threshold=3)

    def count_queries(orders: int, first: int) -> int:
        for n in range(first, first + orders):
            make_order(
                f"2025-{n:06}", ("USD", "EUR", "JPY")[n % 3], ("1", "0.9215", "151.37")[n % 3], "100", created=at(DAY_1 + timedelta(days=n % 2)),
                status=Order.Status.CANCELLED if n % 7 == 0 else Order.Status.PAID,
                lines=[(f"SKU-{n % 12}", "Thing", 1, "100", "100")],
            )
        admin_client.get(reverse(PAGE), RANGE)  # the session and the user warmed up alike
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(reverse(PAGE), RANGE).status_code == 200
        return len(queries)

    few = count_queries(5, 1)
    many = count_queries(45, 6)  # 50 in all
    assert few == many
    assert few <= 12


# --- the exports ----------------------------------------------------------------------


# discount_code, discount, discount_usd, tax, tax_usd, tax_lines, prices_include_tax
NO_DISCOUNT_OR_TAX = ["", "0.00", "0.00", "0.00", "0.00", "", "no"]


def _csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse) and response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))


def test_the_orders_export_streams_every_order_of_the_range(admin_client, sales):
    response = admin_client.get(reverse(ORDERS_CSV), RANGE)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="orders-2025-03-10-to-2025-03-11.csv"'
    assert _csv(response) == [
        [
            "number", "created_at", "status", "payment_status", "currency", "total", "refunded", "exchange_rate", "total_usd", "email",
            "discount_code", "discount", "discount_usd", "tax", "tax_usd", "tax_lines", "prices_include_tax",
        ],
        ["2025-000101", "2025-03-10T00:00:00+00:00", "paid", "paid", "USD", "54.90", "0.00", "1", "54.90", "shopper@example.com", *NO_DISCOUNT_OR_TAX],
        ["2025-000102", "2025-03-10T18:00:00+00:00", "paid", "partially_refunded", "EUR", "45.99", "10.00", "0.9215", "49.91", "'=1+1@example.com", *NO_DISCOUNT_OR_TAX],
        ["2025-000104", "2025-03-11T09:00:00+00:00", "cancelled", "refunded", "USD", "20.00", "20.00", "1", "20.00", "shopper@example.com", *NO_DISCOUNT_OR_TAX],
        ["2025-000103", "2025-03-11T23:59:59+00:00", "paid", "paid", "JPY", "7480", "0", "151.37", "49.42", "shopper@example.com", "", "0", "0.00", "0", "0.00", "", "no"],
    ]


def test_the_lines_export_streams_every_line_of_the_range(admin_client, sales):
    response = admin_client.get(reverse(LINES_CSV), RANGE)

    assert response["Content-Disposition"] == 'attachment; filename="lines-2025-03-10-to-2025-03-11.csv"'
    assert _csv(response) == [
        [
            "number", "created_at", "sku", "product", "variant", "quantity", "unit_price", "currency", "line_total", "unit_price_usd",
            "discount", "tax", "tax_rate",
        ],
        ["2025-000101", "2025-03-10T00:00:00+00:00", "LIN-M", "Linen shirt", "M", "1", "49.90", "USD", "49.90", "49.90", "0.00", "0.00", ""],
        ["2025-000102", "2025-03-10T18:00:00+00:00", "MUG-1", "'=HYPERLINK(\"http://evil.example\",\"mug\")", "", "2", "19.99", "EUR", "39.98", "21.69", "0.00", "0.00", ""],
        ["2025-000104", "2025-03-11T09:00:00+00:00", "LIN-M", "Linen shirt", "M", "5", "4.00", "USD", "20.00", "4.00", "0.00", "0.00", ""],
        ["2025-000103", "2025-03-11T23:59:59+00:00", "MUG-1", "Mug", "", "3", "2000", "JPY", "6000", "13.21", "0", "0", ""],
    ]


def test_an_order_with_a_discount_and_tax_exports_them_to_the_cent(admin_client, make_order):
    # Prices include tax (EUR, 0.9215 per USD): 49.98 of goods, 5.00 off with SPRING10,
    # 4.60 shipping; the 7.97 of tax inside is VAT 19% 7.27 and reduced VAT 7% 0.70.
    order = make_order(
        "2025-000301", "EUR", "0.9215", "49.58", created=at(DAY_1, 9),
        lines=[("LIN-M", "Linen shirt", 1, "39.99", "43.40"), ("BOOK-1", "Book", 1, "9.99", "10.84")],
    )
    eur = lambda amount: Money(Decimal(amount), "EUR")  # noqa: E731
    Order.objects.filter(pk=order.pk).update(
        subtotal=eur("49.98"), discount=eur("5.00"), shipping=eur("4.60"), tax=eur("7.97"), discount_code="SPRING10",
        prices_include_tax=True,
        tax_lines=[{"name": "VAT", "rate": "19.00", "amount": "7.27"}, {"name": "VAT", "rate": "7.00", "amount": "0.70"}],
    )
    shirt, book = order.lines.order_by("id")
    OrderLine.objects.filter(pk=shirt.pk).update(discount=eur("4.00"), tax=eur("5.75"), tax_rate=Decimal("19.00"))
    OrderLine.objects.filter(pk=book.pk).update(discount=eur("1.00"), tax=eur("0.59"), tax_rate=Decimal("7.00"))
    day = {"from": DAY_1.isoformat(), "to": DAY_1.isoformat()}

    orders = _csv(admin_client.get(reverse(ORDERS_CSV), day))
    lines = _csv(admin_client.get(reverse(LINES_CSV), day))

    columns = dict(zip(orders[0], orders[1]))
    assert {name: columns[name] for name in reports.ORDER_COLUMNS[10:]} == {
        "discount_code": "SPRING10",
        "discount": "5.00",
        "discount_usd": "5.43",  # 5.00 / 0.9215 = 5.4259
        "tax": "7.97",
        "tax_usd": "8.65",  # 7.97 / 0.9215 = 8.6489
        "tax_lines": "VAT 19%: 7.27; VAT 7%: 0.70",
        "prices_include_tax": "yes",
    }
    assert [row[-3:] for row in lines[1:]] == [["4.00", "5.75", "19.00"], ["1.00", "0.59", "7.00"]]


def test_the_exports_read_rows_in_chunks_without_loading_them(admin_client, sales):
    response = admin_client.get(reverse(ORDERS_CSV), RANGE)
    with CaptureQueriesContext(connection) as queries:
        chunks = iter(response.streaming_content)
        header = next(chunks)
    assert header.startswith(b"number,created_at,")
    assert not any("orders_order" in q["sql"] for q in queries.captured_queries)  # nothing read yet
    with CaptureQueriesContext(connection) as queries:
        rows = list(chunks)
    assert len(rows) == 4
    assert len([q for q in queries.captured_queries if "orders_order" in q["sql"]]) == 1
    assert reports.EXPORT_CHUNK_SIZE == 2000


@pytest.mark.parametrize("value", ["=SUM(A1)", "+1", "-1", "@x", "\tx", "\rx"])
def test_cells_that_would_be_formulas_get_an_apostrophe(value):
    assert reports.csv_cell(value) == "'" + value
    assert reports.csv_cell("plain") == "plain" and reports.csv_cell(Decimal("-1.00")) == Decimal("-1.00")


# --- who may see it ---------------------------------------------------------------------


def _user(django_user_model, name: str, *, staff: bool, view_order: bool):
    user = django_user_model.objects.create_user(name, password="pw", is_staff=staff)
    if view_order:
        user.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="orders"))
    return user


@pytest.mark.parametrize("name", [PAGE, ORDERS_CSV, LINES_CSV])
def test_only_staff_who_may_view_orders_get_in(client, django_user_model, sales, name):
    url = reverse(name)
    assert client.get(url, RANGE).status_code == 302  # to the admin login

    client.force_login(_user(django_user_model, "shopper", staff=False, view_order=True))
    response = client.get(url, RANGE)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]

    client.force_login(_user(django_user_model, "packer", staff=True, view_order=False))
    assert client.get(url, RANGE).status_code == 403

    client.force_login(_user(django_user_model, "viewer", staff=True, view_order=True))
    assert client.get(url, RANGE).status_code == 200


def test_staff_without_view_order_do_not_see_it_in_the_index(client, django_user_model):
    client.force_login(_user(django_user_model, "packer", staff=True, view_order=False))
    assert reverse(PAGE) not in client.get(reverse("admin:index")).content.decode()
    client.force_login(_user(django_user_model, "viewer", staff=True, view_order=True))
    assert reverse(PAGE) in client.get(reverse("admin:index")).content.decode()
