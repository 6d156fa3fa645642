"""Units per order line: how many are left to ship or to return, and checking what staff
ask for against that (orders.fulfilment, orders.services.record_return)."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet, Sum

from orders.models import Order


def units_left(order: Order, taken: QuerySet) -> dict[int, int]:
    """order line id -> units of the line not in `taken` yet (rows with `order_line_id`
    and `quantity`: shipment lines or returned lines of the order)."""
    done = dict(taken.values("order_line_id").annotate(total=Sum("quantity")).values_list("order_line_id", "total"))
    return {line.pk: line.quantity - done.get(line.pk, 0) for line in order.lines.all()}


def clean_line_quantities(
    quantities: dict[Any, Any], left: dict[int, int], *, not_yet: str, errors: dict[str, list[str]]
) -> dict[int, int]:
    """The units asked for per order line (line id -> units > 0); every bad entry goes
    into `errors` as `lines.<id>` (a number from 0 to the units not `not_yet` yet)."""
    wanted: dict[int, int] = {}
    for raw_line, raw_quantity in quantities.items():
        try:
            line_id, quantity = int(raw_line), int(raw_quantity)
        except (TypeError, ValueError):
            errors[f"lines.{raw_line}"] = ["A whole number of units."]
            continue
        if line_id not in left:
            errors[f"lines.{raw_line}"] = ["Not a line of this order."]
        elif not 0 <= quantity <= left[line_id]:
            errors[f"lines.{line_id}"] = [f"From 0 to {left[line_id]}, the units not {not_yet} yet."]
        elif quantity:
            wanted[line_id] = quantity
    return wanted
