"""Returns: staff refund units the customer sent back, at the prices they paid (and the
shipping, if asked), and put them back on hand if they can be sold again (ledger reason
`return`, with the order's id). One transaction: the refund is bounded by what is left to
refund and each line by its units not returned yet; a refusal changes nothing. The refund
is sent to Stripe after commit (its own idempotency key) and the customer emailed.

Locks (shop/locks.py): payment row -> stock rows -> order row.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction

from inventory import services as inventory
from inventory.models import StockMovement
from orders import services as order_services
from orders.models import Order
from payments import refunds
from payments.models import Refund
from shop.errors import NotFound


def refund_return(
    *,
    order_id: int,
    quantities: dict[Any, Any],
    include_shipping: bool = False,
    restock: bool = False,
    reason: str = Refund.Reason.REQUESTED_BY_CUSTOMER,
    note: str = "",
    actor_id: int | None = None,
) -> Refund:
    """Refund the returned `quantities` (order line id -> units) of an order, restocking
    them if asked. InvalidInput / RefundRefused say what is wrong, and nothing changes."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("There is no such order.")
    with transaction.atomic():
        refunds.lock_order_payment(order_id)  # the payment row first, as the lock order has it
        if restock:  # the stock rows next; the order row (record_return) last
            inventory.return_sold_units(
                order_id=order_id, reason=StockMovement.Reason.RETURN, items=_variants_asked_for(order, quantities),
                actor_id=actor_id, note=f"returned from order {order.number}",
            )
        returned = order_services.record_return(  # checks every line; a refusal rolls the restock back
            order_id=order_id, quantities=quantities, include_shipping=include_shipping, restocked=restock, actor_id=actor_id
        )
        refund = refunds.schedule_order_refund(
            order_id=order_id, amount=returned.amount, reason=reason, note=note or f"Return of order {order.number}", actor_id=actor_id
        )
    return refund


def _variants_asked_for(order: Order, quantities: dict[Any, Any]) -> dict[int, int]:
    """variant id -> units, from the order lines asked for (unchecked: record_return
    checks them under the order's lock, and a refusal undoes the restock)."""
    variant_of = dict(order.lines.values_list("pk", "variant_id"))
    units: dict[int, int] = {}
    for raw_line, raw_quantity in quantities.items():
        try:
            variant_id, quantity = variant_of.get(int(raw_line)), int(raw_quantity)
        except (TypeError, ValueError):
            continue
        if variant_id is not None and quantity > 0:
            units[variant_id] = units.get(variant_id, 0) + quantity
    return units
