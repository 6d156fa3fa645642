"""Order reads: a customer's orders, and one order for whoever may see it."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from moneyed import Money

from orders.models import Order, OrderLine
from orders.status import cancellation_refusal
from taxes.selectors import TaxRule


# Each status as the shopper reads it in their order's history.
SHOPPER_WORDS = {
    Order.Status.AUTHORIZED: _("Order placed; the payment is authorized on your card"),
    Order.Status.PAID: _("Order placed and paid"),
    Order.Status.PROCESSING: _("We are preparing your order"),
    Order.Status.PARTIALLY_SHIPPED: _("Part of your order is on its way"),
    Order.Status.SHIPPED: _("Your order is on its way"),
    Order.Status.DELIVERED: _("Delivered"),
    Order.Status.CANCELLED: _("Order cancelled; the payment is being returned to your card"),
    Order.Status.NEEDS_ATTENTION: _("Our team is looking into your order"),
    Order.Status.REFUNDED: _("Refunded in full"),
    Order.Status.FULFILLED: _("Sent"),
}


@dataclass(frozen=True)
class HistoryEntry:
    status: str
    at: datetime
    note: str  # in the shopper's words, never a staff note


def shopper_history(order: Order) -> list[HistoryEntry]:
    """The order's status changes, oldest first, as the shopper reads them."""
    return [
        HistoryEntry(event.to_status, event.created_at, str(SHOPPER_WORDS.get(event.to_status, event.to_status)))
        for event in order.events.all()
    ]


def customer_may_cancel(order: Order) -> bool:
    """The cancel button shows only where the shopper may cancel (orders.services)."""
    return cancellation_refusal(order, by_customer=True) is None


def _details() -> tuple:
    return (Prefetch("lines", queryset=OrderLine.objects.order_by("id")), "events", "refund_notes", "shipments__lines__order_line")


def orders_of_customer(*, user_id: int) -> QuerySet[Order]:
    """The signed-in customer's orders, newest first, lines loaded in one more query."""
    return (
        Order.objects.filter(user_id=user_id)
        .prefetch_related(*_details())
        .order_by("-created_at", "-id")
    )


def latest_orders_of_customer(*, user_id: int, limit: int = 5) -> list[Order]:
    """The customer's newest orders, for the account page's "My orders": number, date,
    status and total only, in one query."""
    return list(Order.objects.filter(user_id=user_id).order_by("-created_at", "-id")[:limit])


def order_count_of_customer(*, user_id: int) -> int:
    return Order.objects.filter(user_id=user_id).count()


def order_with_details(number: str) -> Order | None:
    """The order with its lines, events, refunds and parcels loaded (what its page and its
    JSON show), in a constant number of queries. No access check: see order_for_viewer."""
    return (
        Order.objects.filter(number=number)
        .prefetch_related(*_details())
        .first()
    )


def order_for_viewer(*, number: str, user_id: int | None, token: str | None) -> Order | None:
    """The order if the viewer may see it: its customer, or anyone holding the signed
    link's token (a guest's only key). Everyone else gets None, exactly as for an order
    that does not exist, so order numbers reveal nothing."""
    order = order_with_details(number)
    if order is None:
        return None
    if user_id is not None and order.user_id == user_id:
        return order
    # Compared as bytes: compare_digest refuses str with non-ASCII characters, and a
    # token from a URL can hold anything.
    if isinstance(token, str) and token and secrets.compare_digest(token.encode(), order.access_token.encode()):
        return order
    return None


def guest_link(order: Order, *, view: str = "orders:detail") -> str:
    """The path, with the order's token, that lets whoever holds it read the order (the
    order page by default, "api:order-detail" for the API)."""
    return f"{reverse(view, args=[order.number])}?token={order.access_token}"


@dataclass(frozen=True)
class OrderTaxLine:
    name: str
    rate: Decimal | None  # None: an order from before tax lines were stored
    amount: Money

    @property
    def label(self) -> str:
        """"VAT 19%"."""
        return TaxRule(self.name, self.rate).label if self.rate is not None else self.name


def order_tax_lines(order: Order) -> list[OrderTaxLine]:
    """The order's tax by name and rate, as stored when it was paid."""
    lines = [
        OrderTaxLine(line["name"], Decimal(line["rate"]), Money(Decimal(line["amount"]), order.currency))
        for line in order.tax_lines or []
    ]
    if not lines and order.tax.amount:  # an order from before tax lines were stored
        lines = [OrderTaxLine("Tax", None, order.tax)]
    return lines


def gave_free_shipping(order: Order) -> bool:
    """A code that took nothing off the lines and left no shipping gave free shipping."""
    return bool(order.discount_code) and not order.discount.amount and not order.shipping.amount


@dataclass(frozen=True)
class OrderTotals:
    """An order's stored totals under the names of cart.pricing.CartTotals, so the pages
    show them with the cart's totals block (templates/partials/totals.html). Read from
    the order's snapshot, never worked out again."""

    subtotal: Money
    discount: Money
    discount_code: str
    free_shipping_code: bool
    shipping: Money
    tax: Money
    total: Money
    prices_include_tax: bool
    tax_lines: list[OrderTaxLine] = field(default_factory=list)
    tax_known: bool = True


def order_totals(order: Order) -> OrderTotals:
    return OrderTotals(
        subtotal=order.subtotal,
        discount=order.discount,
        discount_code=order.discount_code,
        free_shipping_code=gave_free_shipping(order),
        shipping=order.shipping,
        tax=order.tax,
        total=order.total,
        prices_include_tax=order.prices_include_tax,
        tax_lines=order_tax_lines(order),
    )
