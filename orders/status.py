"""The order's status machine, as rules anyone may read: which status may follow which,
who may cancel when, and why not, in sentences for the shopper or staff. The changes
themselves are orders.services'."""
from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orders.models import Order

S = Order.Status
# Which status may follow which. Anything may need a person (a dispute, a lapsed
# authorization); staff then move it on to where it belongs.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.AUTHORIZED: frozenset({S.PAID, S.PROCESSING, S.CANCELLED}),
    S.PAID: frozenset({S.PROCESSING, S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED, S.REFUNDED}),
    S.PROCESSING: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.NEEDS_ATTENTION: frozenset({S.PAID, S.PROCESSING, S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.CANCELLED}),
    S.CANCELLED: frozenset(),
    S.REFUNDED: frozenset(),
    S.FULFILLED: frozenset({S.DELIVERED}),
}
# Before anything has left the warehouse: what a cancellation may stop.
NOT_YET_SHIPPED = frozenset({S.AUTHORIZED, S.PAID, S.PROCESSING, S.NEEDS_ATTENTION})
# What the shopper may still cancel themselves: nothing has been done with it yet.
CUSTOMER_CANCELLABLE = frozenset({S.AUTHORIZED, S.PAID})

# Why a status cannot change, as the shopper or staff read it.
_WHERE_IT_IS = {
    S.AUTHORIZED: _("is waiting for its payment to be captured"),
    S.PAID: _("is paid"),
    S.PROCESSING: _("is being prepared for shipping"),
    S.PARTIALLY_SHIPPED: _("has been partly shipped"),
    S.SHIPPED: _("has been shipped"),
    S.DELIVERED: _("has been delivered"),
    S.CANCELLED: _("is cancelled"),
    S.NEEDS_ATTENTION: _("is being looked at by our staff"),
    S.REFUNDED: _("has been refunded in full"),
    S.FULFILLED: _("has been sent"),
}


def transition_refusal(order: Order, to: str) -> str | None:
    """Why `order` cannot move to `to` (a sentence), or None if it can."""
    if to == order.status:
        return f"Order {order.number} {_WHERE_IT_IS.get(order.status, 'is ' + order.status)} already."
    if to == S.NEEDS_ATTENTION or to in TRANSITIONS.get(order.status, frozenset()):
        return None
    return f"Order {order.number} {_WHERE_IT_IS.get(order.status, 'is ' + order.status)}, so it cannot become {S(to).label.lower()}."


def cancellation_refusal(order: Order, *, by_customer: bool) -> str | None:
    """Why `order` cannot be cancelled by the shopper (only while paid or authorized and
    not yet being prepared) or by staff (any time before anything is shipped), or None."""
    allowed = CUSTOMER_CANCELLABLE if by_customer else NOT_YET_SHIPPED
    if order.status in allowed:
        return None
    where = _WHERE_IT_IS.get(order.status, "is " + order.status)
    if by_customer and order.status in NOT_YET_SHIPPED:
        return gettext("Order %(number)s %(where)s, so it can no longer be cancelled here. Please contact us.") % {
            "number": order.number, "where": where,
        }
    return gettext("Order %(number)s %(where)s, so it can no longer be cancelled.") % {"number": order.number, "where": where}
