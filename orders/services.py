"""Order writes: making the order snapshot of a paid cart, its number, and what happens
to it after: refunds recorded, a capture, a flag for staff. The checkout app decides when
an order is made (checkout.completion); nothing here knows of payments.

Locks (shop/locks.py): the order-number sequence row, then order rows.
"""
from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from django.db import connection, transaction
from django.utils import timezone
from moneyed import Money

from cart.models import Cart
from cart.pricing import CartTotals
from currencies.money import zero
from orders.models import Order, OrderLine
from shop.alerts import alert_staff

log = logging.getLogger(__name__)


def next_order_number(year: int) -> str:
    """ORD-2026-00123: per year, taken under the year's sequence row lock (held to the end
    of the caller's transaction; lock order: shop/locks.py), so numbers never repeat;
    gaps only on rollback."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO orders_ordernumbersequence (year, last) VALUES (%s, 1)
            ON CONFLICT (year) DO UPDATE SET last = orders_ordernumbersequence.last + 1
            RETURNING last
            """,
            [year],
        )
        (last,) = cursor.fetchone()
    return f"ORD-{year}-{last:05d}"


def create_order(
    *, cart: Cart, totals: CartTotals, authorized_only: bool, now: datetime, unsuppliable: str | None = None
) -> Order:
    """The order snapshot of a paid cart (invariant 7): numbered, with its lines, every
    amount as priced by cart.pricing. `authorized_only`: the card is authorized, not yet
    captured. `unsuppliable`: why stock could not be committed (invariant 12); the order
    is then made for the record, flagged for staff."""
    currency = totals.currency
    order = Order.objects.create(
        number=next_order_number(now.year),
        cart=cart,
        user_id=cart.user_id,
        status=Order.Status.NEEDS_ATTENTION if unsuppliable else Order.Status.PAID,
        payment_status=Order.PaymentStatus.AUTHORIZED if authorized_only else Order.PaymentStatus.PAID,
        currency=currency,
        exchange_rate=totals.rate,
        email=cart.email,
        shipping_address=cart.shipping_address,
        billing_address=cart.billing_address,
        shipping_method=cart.shipping_method,
        subtotal=totals.subtotal,
        shipping=totals.shipping,
        tax=totals.tax,
        discount=totals.discount,
        total=totals.total,
        refunded=zero(currency),
        staff_note=(
            f"{now:%Y-%m-%d %H:%M} UTC: paid after the reservation lapsed and stock ran out ({unsuppliable}); "
            "refunded in full automatically, shopper told."
            if unsuppliable
            else ""
        ),
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                variant=priced.line.variant,
                sku=priced.line.variant.sku,
                product_name=priced.line.variant.product.name,
                variant_name=priced.line.variant.display_name,
                attributes=priced.line.variant.attributes or {},
                quantity=priced.line.quantity,
                unit_price_usd=priced.unit_price_usd,
                unit_price=priced.unit_price,
                line_total=priced.line_total,
            )
            for priced in totals.lines
        ]
    )
    return order


def record_refunded(*, order_id: int, refunded: Money) -> Order:
    """What has been refunded of an order so far (cumulative, as Stripe reports it; a
    smaller, stale figure never lowers it), and the payment status that follows."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)  # lock order: shop/locks.py
        if refunded.currency.code != order.currency:
            raise ValueError(f"refund in {refunded.currency.code} for an order in {order.currency}")
        if refunded.amount > order.refunded.amount or order.refunded.currency.code != order.currency:
            order.refunded = refunded
        if order.refunded.amount <= 0:
            return order
        fully = order.refunded.amount >= order.total.amount
        order.payment_status = Order.PaymentStatus.REFUNDED if fully else Order.PaymentStatus.PARTIALLY_REFUNDED
        if fully and order.status == Order.Status.PAID:
            order.status = Order.Status.REFUNDED
        order.save(update_fields=["refunded", "refunded_currency", "payment_status", "status"])
    return order


def mark_captured(*, order: Order) -> None:
    """An authorized payment was captured: the order is paid."""
    Order.objects.filter(pk=order.pk, payment_status=Order.PaymentStatus.AUTHORIZED).update(payment_status=Order.PaymentStatus.PAID)
    order.payment_status = Order.PaymentStatus.PAID


def flag_order(*, order_id: int, reason: str, now: datetime | None = None) -> Order:
    """Ask staff to look at an order (a dispute, a lapsed authorization): status
    needs_attention and a dated line in its staff note."""
    now = now or timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)  # lock order: shop/locks.py
        line = f"{now:%Y-%m-%d %H:%M} UTC: {reason}"
        if line not in order.staff_note:
            order.staff_note = f"{order.staff_note}\n{line}".strip()
        order.status = Order.Status.NEEDS_ATTENTION
        order.save(update_fields=["status", "staff_note"])
    transaction.on_commit(partial(alert_staff, f"Order {order.number} needs attention", reason))
    return order
