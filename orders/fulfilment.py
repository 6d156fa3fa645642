"""Shipping orders: staff send some or all of an order's lines with a carrier's tracking
number; the order becomes partially shipped or shipped, and the shopper gets an email
with the tracking link. Delivery is marked by hand or from a carrier's CSV file.

Every function takes the order's row lock (lock order: shop/locks.py), so a shipment and
a cancellation of the same order never both happen: whichever locks it first decides,
and the other sees the new status and is refused.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from cart.validation import has_control_characters
from orders import emails
from orders.carriers import carriers, tracking_url
from orders.lines import clean_line_quantities, units_left
from orders.models import Order, OrderLine, Shipment, ShipmentLine
from orders.services import lock_order, transition
from shop.errors import InvalidInput, TransitionRefused

S = Order.Status

MAX_TRACKING_LENGTH = Shipment._meta.get_field("tracking_number").max_length
# An order can be sent once it is paid (or being prepared, or partly sent): never before
# its payment is captured, and not while staff must look at it.
SHIPPABLE = frozenset({S.PAID, S.PROCESSING, S.PARTIALLY_SHIPPED})


def unshipped_quantities(order: Order) -> dict[int, int]:
    """order line id -> units not shipped yet."""
    return units_left(order, ShipmentLine.objects.filter(shipment__order=order))


def _clean_shipment(order: Order, quantities: dict[Any, Any], carrier: Any, tracking_number: Any) -> dict[int, int]:
    """The quantities to ship per order line, every bad field named at once."""
    errors: dict[str, list[str]] = {}
    if carrier not in carriers():
        errors["carrier"] = [f"Choose one of {', '.join(carriers())}."]
    tracking = tracking_number.strip() if isinstance(tracking_number, str) else ""
    if not tracking:
        errors["tracking_number"] = ["Enter the carrier's tracking number."]
    elif len(tracking) > MAX_TRACKING_LENGTH or has_control_characters(tracking):
        errors["tracking_number"] = [f"Text on one line of at most {MAX_TRACKING_LENGTH} characters."]
    wanted = clean_line_quantities(quantities, unshipped_quantities(order), not_yet="shipped", errors=errors)
    if not wanted and not any(key.startswith("lines") for key in errors):
        errors["lines"] = ["Ship at least one unit."]
    if errors:
        first, messages = next(iter(errors.items()))
        raise InvalidInput(f"{first}: {messages[0]}", details=errors)
    return wanted


def ship(
    *,
    order_id: int,
    quantities: dict[Any, Any],
    carrier: Any,
    tracking_number: Any,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> Shipment:
    """Send `quantities` (order line id -> units) of the order with the carrier's tracking
    number: a Shipment; the order becomes `shipped` when every unit has gone, else
    `partially_shipped`; the shopper is emailed the tracking link after commit.
    TransitionRefused when the order cannot be sent now (not paid, cancelled, needs
    attention); InvalidInput naming every bad field. Either changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status not in SHIPPABLE:
            why = "its payment is not captured yet" if order.status == S.AUTHORIZED else f"it is {order.get_status_display().lower()}"
            raise TransitionRefused(f"Order {order.number} cannot be shipped: {why}.", details={"reason": order.status})
        wanted = _clean_shipment(order, quantities, carrier, tracking_number)
        tracking = tracking_number.strip()
        shipment = Shipment.objects.create(
            order=order, carrier=carrier, tracking_number=tracking, tracking_url=tracking_url(carrier, tracking),
            shipped_at=now, created_by_id=actor_id,
        )
        ShipmentLine.objects.bulk_create(
            [ShipmentLine(shipment=shipment, order_line_id=line_id, quantity=quantity) for line_id, quantity in wanted.items()]
        )
        everything_sent = not any(unshipped_quantities(order).values())
        target = S.SHIPPED if everything_sent else S.PARTIALLY_SHIPPED
        if target != order.status:
            transition(order, target, actor_id=actor_id, note=f"{carriers()[carrier][0]} {tracking}")
        transaction.on_commit(partial(emails.send_order_shipped, order.pk, shipment.pk))
    return shipment


def mark_delivered(*, order_id: int, actor_id: int | None = None, at: datetime | None = None, note: str = "") -> Order:
    """Every parcel of a shipped order has arrived: `delivered`."""
    at = at or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status != S.SHIPPED:
            raise TransitionRefused(
                f"Order {order.number} is {order.get_status_display().lower()}: only an order shipped in full can be delivered.",
                details={"reason": order.status},
            )
        Shipment.objects.filter(order=order, delivered_at__isnull=True).update(delivered_at=at)
        transition(order, S.DELIVERED, actor_id=actor_id, note=note or "delivered")
    return order


@dataclass
class DeliveryImport:
    delivered: list[str] = field(default_factory=list)  # order numbers now delivered
    waiting: list[str] = field(default_factory=list)  # tracking numbers recorded, their order has parcels still out
    unknown: list[str] = field(default_factory=list)  # tracking numbers of no shipment
    refused: list[str] = field(default_factory=list)  # sentences: why a row changed nothing


def import_deliveries(text: str, *, actor_id: int | None = None) -> DeliveryImport:
    """A carrier's CSV of delivered parcels: a `tracking_number` column and, optionally,
    `delivered_at` (ISO 8601). Each parcel is marked delivered; an order whose parcels
    have all arrived becomes `delivered`. Rows that match nothing are reported, not fatal."""
    result = DeliveryImport()
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "tracking_number" not in reader.fieldnames:
        raise InvalidInput("The file needs a tracking_number column.", details={"file": ["No tracking_number column."]})
    for row_number, row in enumerate(reader, start=2):
        tracking = (row.get("tracking_number") or "").strip()
        try:
            at = datetime.fromisoformat(row["delivered_at"]) if row.get("delivered_at") else timezone.now()
        except ValueError:
            result.refused.append(f"row {row_number}: {row['delivered_at']!r} is not a date and time")
            continue
        if timezone.is_naive(at):
            at = at.replace(tzinfo=UTC)
        shipments = list(Shipment.objects.filter(tracking_number=tracking).select_related("order"))
        if not tracking or not shipments:
            result.unknown.append(tracking or f"(row {row_number}: empty)")
            continue
        for shipment in shipments:
            with transaction.atomic():
                order = lock_order(shipment.order_id)
                Shipment.objects.filter(pk=shipment.pk, delivered_at__isnull=True).update(delivered_at=at)
                out = Shipment.objects.filter(order=order, delivered_at__isnull=True).exists()
                if order.status == S.SHIPPED and not out:
                    transition(order, S.DELIVERED, actor_id=actor_id, note=f"delivered ({shipment.carrier} {tracking})")
                    result.delivered.append(order.number)
                elif order.status == S.DELIVERED:
                    continue
                else:
                    result.waiting.append(tracking)
    return result


def lines_of(shipment: Shipment) -> list[tuple[OrderLine, int]]:
    return [(line.order_line, line.quantity) for line in shipment.lines.all()]
