"""The admin's sales overview (Admin > Orders > Sales overview) and its CSV exports.

Registered through the SalesOverview proxy model so the page is listed under Orders in
the admin index; only its own three URLs exist (no change or history pages through the
proxy). Staff who may view orders (`orders.view_order`) see it; other staff get 403 and
visitors who are not staff the admin login. The figures come from orders.reports; this
module parses the range, draws the chart and streams the CSV.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy as _, ngettext, pgettext

from orders import reports
from orders.models import SalesOverview


class SalesRangeForm(forms.Form):
    """`from` and `to` (GET), UTC days, both included; the last 30 days when absent."""

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        default = reports.default_range()
        data = data or {}
        super().__init__(
            {"from": data.get("from") or default.start.isoformat(), "to": data.get("to") or default.end.isoformat()}, **kwargs
        )
        widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        self.fields["from"] = forms.DateField(label=_("From"), widget=widget)
        self.fields["to"] = forms.DateField(label=_("To (included)"), widget=widget)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "from" in cleaned and "to" in cleaned:
            for field, message in reports.range_problems(start=cleaned["from"], end=cleaned["to"]).items():
                self.add_error(field, message)
        return cleaned

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:  # each input points at its message, for screen readers
            if name in self.fields:
                self.fields[name].widget.attrs.update({"aria-invalid": "true", "aria-describedby": f"id_{name}_errors"})

    @property
    def start(self) -> date:
        return self.cleaned_data["from"]

    @property
    def end(self) -> date:
        return self.cleaned_data["to"]


# --- the chart: an inline SVG bar chart of revenue in USD per day -----------------------

CHART_WIDTH, CHART_HEIGHT = 640, 320
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 84, 628, 40, 250  # the plot area in the viewBox
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Tick:
    at: float  # x for a day label, y for an amount gridline
    label: str
    minor: bool = False  # dropped on narrow screens (admin_reports.css)


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    description: str


def _nice_step(top: Decimal, steps: int = 4) -> Decimal:
    """A round gridline step (1, 2, 2.5 or 5 times a power of ten) giving about `steps` lines."""
    raw = float(top) / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return Decimal(str(factor * magnitude))
    return Decimal(str(10 * magnitude))  # pragma: no cover


def _axis_label(amount: Decimal) -> str:
    for limit, suffix in ((Decimal(1_000_000), "M"), (Decimal(1000), "k")):
        if amount >= limit:
            value = (amount / limit).quantize(Decimal("0.1")).normalize()
            return f"{value:f}{suffix}"
    return f"{amount.quantize(Decimal('0.01')).normalize():f}"


def _long_day(day: date) -> str:
    return date_format(day, "j M Y")  # 5 Mar 2025, the month in the page's language


def usd_text(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def revenue_chart(days: list[reports.DayFigures]) -> Chart:
    """Bars of revenue in USD per day, gridlines at round amounts, a few day labels."""
    highest = max((day.revenue_usd for day in days), default=Decimal(0))
    step = _nice_step(highest) if highest > 0 else Decimal(25)
    top = step * max(math.ceil(highest / step), 1)
    plot_width, plot_height = PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP
    slot = plot_width / max(len(days), 1)
    gap = slot * 0.2 if slot >= 4 else 0

    def y_of(amount: Decimal) -> float:
        return round(PLOT_BOTTOM - float(amount / top) * plot_height, 2)

    bars = [
        Bar(
            x=round(PLOT_LEFT + index * slot + gap / 2, 2), y=y_of(day.revenue_usd), width=round(slot - gap, 2),
            height=round(PLOT_BOTTOM - y_of(day.revenue_usd), 2),
            title=ngettext(
                "%(day)s: %(revenue)s USD, %(orders)s order", "%(day)s: %(revenue)s USD, %(orders)s orders", day.orders
            ) % {"day": f"{date_format(day.day, 'D')} {_long_day(day.day)}", "revenue": usd_text(day.revenue_usd), "orders": day.orders},
        )
        for index, day in enumerate(days)
    ]
    y_ticks = [Tick(at=y_of(step * n), label=_axis_label(step * n)) for n in range(int(top / step) + 1)]
    every = max(math.ceil(len(days) / MAX_X_LABELS), 1)
    x_ticks = [
        Tick(at=round(PLOT_LEFT + (index + 0.5) * slot, 2), label=date_format(day.day, "j M"), minor=(index // every) % 2 == 1)
        for index, day in enumerate(days)
        if index % every == 0
    ]
    busiest = max(days, key=lambda day: day.revenue_usd, default=None)
    if busiest is None:
        description = gettext("No days.")
    else:
        description = ngettext("%(count)s day from %(start)s to %(end)s.", "%(count)s days from %(start)s to %(end)s.", len(days)) % {
            "count": len(days), "start": _long_day(days[0].day), "end": _long_day(days[-1].day),
        } + " " + (
            gettext("Highest: %(amount)s USD on %(day)s.") % {"amount": usd_text(busiest.revenue_usd), "day": _long_day(busiest.day)}
            if busiest.revenue_usd > 0
            else gettext("No revenue in this range.")
        )
    return Chart(
        width=CHART_WIDTH, height=CHART_HEIGHT, left=PLOT_LEFT, right=PLOT_RIGHT, top=PLOT_TOP, bottom=PLOT_BOTTOM,
        bars=bars, y_ticks=y_ticks, x_ticks=x_ticks, description=description,
    )


# --- CSV streaming ----------------------------------------------------------------------


class _Echo:
    """A file-like object whose write returns what it was given: csv.writer formats one
    row at a time and the response sends it on."""

    def write(self, value: str) -> str:
        return value


def _csv_response(rows, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- the admin ----------------------------------------------------------------------------


@admin.register(SalesOverview)
class SalesOverviewAdmin(admin.ModelAdmin):
    """Not a list of rows: the sales overview page, at this model's changelist URL."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm("orders.view_order"))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self):
        # Only these: the proxy must not become a second way into the orders' pages.
        view = self.admin_site.admin_view
        return [
            path("", view(self.overview_view), name="orders_salesoverview_changelist"),
            path("orders.csv", view(self.orders_csv_view), name="orders_salesoverview_orders_csv"),
            path("lines.csv", view(self.lines_csv_view), name="orders_salesoverview_lines_csv"),
        ]

    def _form(self, request: HttpRequest) -> SalesRangeForm:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return SalesRangeForm(request.GET)

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        form = self._form(request)
        overview = reports.sales_overview(start=form.start, end=form.end) if form.is_valid() else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Sales overview"),
            "form": form,
            "overview": overview,
            "chart": revenue_chart(overview.days) if overview else None,
            "range_query": f"from={form.start.isoformat()}&to={form.end.isoformat()}" if overview else "",
            "stock_lists": [
                (pgettext("stock status", "Out of stock"), overview.out_of_stock, gettext("No variant is out of stock.")),
                (pgettext("stock status", "Low stock"), overview.low_stock, gettext("No variant is low on stock.")),
            ] if overview else [],
            # Days are written without their year unless the range spans two.
            "day_format": "D j M Y" if overview and form.start.year != form.end.year else "D j M",
        }
        return TemplateResponse(request, "admin/orders/sales_overview.html", context)

    def _export(self, request: HttpRequest, kind: str) -> HttpResponse:
        form = self._form(request)
        if not form.is_valid():
            problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
            return HttpResponseBadRequest(gettext("Cannot export this range. %(problems)s") % {"problems": problems}, content_type="text/plain; charset=utf-8")
        select = reports.order_export_rows if kind == "orders" else reports.line_export_rows
        return _csv_response(select(start=form.start, end=form.end), f"{kind}-{form.start.isoformat()}-to-{form.end.isoformat()}.csv")

    def orders_csv_view(self, request: HttpRequest) -> HttpResponse:
        return self._export(request, "orders")

    def lines_csv_view(self, request: HttpRequest) -> HttpResponse:
        return self._export(request, "lines")
