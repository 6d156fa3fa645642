"""Cancelling a paid order: by staff any time before it ships, by the shopper while it is
paid (or authorized) and not yet being prepared. One transaction gives everything back:
the money (the authorization released, or everything left refunded, sent to Stripe after
commit with the refund's own idempotency key), the discount code's use, the units (back on hand through the
ledger, reason `cancel`, with the order's id), and the order's status (cancelled, as an
event). The shopper is told by email after commit.

Locks (shop/locks.py): payment row -> discount use row -> stock rows -> order row. The order's status is
decided under the order lock, last; a refusal rolls everything back. Two cancellations of
one order wait for each other at the payment lock, and the second finds it cancelled.
"""
from __future__ import annotations

import logging
from functools import partial

from django.db import transaction

from discounts import services as discounts
from inventory import services as inventory
from inventory.models import StockMovement
from orders import emails
from orders import services as order_services
from orders.models import Order
from payments import refunds
from payments.amounts import from_stripe
from payments.models import Refund
from shop.errors import NotFound, OrderNotCancellable

log = logging.getLogger(__name__)


def cancel_order(*, order_id: int, by_customer: bool, actor_id: int | None = None, note: str = "") -> Order:
    """Cancel the order and give back its money and stock, all or nothing.
    OrderNotCancellable (409 `order_not_cancellable`) says why not; nothing changes then."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("There is no such order.")
    refusal = order_services.cancellation_refusal(order, by_customer=by_customer)
    if refusal is not None:  # said at once; checked again under the lock below
        raise OrderNotCancellable(refusal, details={"reason": order.status})
    who = "the customer" if by_customer else "staff"
    with transaction.atomic():
        payment = refunds.lock_order_payment(order_id)
        discounts.give_back_use(order_id=order_id)  # the code may be used again
        inventory.return_sold_units(
            order_id=order_id, reason=StockMovement.Reason.CANCEL, actor_id=actor_id, note=f"order {order.number} cancelled by {who}"
        )
        order = order_services.cancel(order_id=order_id, by_customer=by_customer, actor_id=actor_id, note=note)
        refund = None
        if payment is not None:
            refund = refunds.refund_remaining(
                payment=payment, reason=Refund.Reason.CANCELLED, note=f"Order {order.number} cancelled by {who}.", actor_id=actor_id
            )
        refunding = from_stripe(refund.amount, refund.currency) if refund is not None else None
        transaction.on_commit(partial(emails.send_order_cancelled, order.pk, refunding))
    log.info("order %s cancelled by %s", order.number, who)
    return order
