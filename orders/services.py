"""Order writes: making the order snapshot of a paid cart, its number, and what happens
to it after: refunds recorded, a capture, a flag for staff. The checkout app decides when
an order is made (checkout.completion); nothing here knows of payments.

Locks (shop/locks.py): the order-number sequence row, then order rows.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import get_supported_language_variant
from moneyed import Money

from cart.models import Cart
from cart.pricing import CartTotals
from currencies.money import zero
from orders.lines import clean_line_quantities, units_left
from orders.models import Order, OrderEvent, OrderLine, RefundNote, ReturnedLine
from orders.status import S, cancellation_refusal, transition_refusal
from shop.alerts import alert_staff
from shop.errors import InvalidInput, OrderNotCancellable, TransitionRefused

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


def order_language(code: str | None) -> str:
    """A language the shop speaks (settings.LANGUAGES) for `code` ("de-ch" -> "de"), else the
    default language."""
    try:
        return get_supported_language_variant(code or "")
    except LookupError:
        return get_supported_language_variant(settings.LANGUAGE_CODE)


def create_order(
    *,
    cart: Cart,
    totals: CartTotals,
    authorized_only: bool,
    now: datetime,
    unsuppliable: str | None = None,
    shipping_method_name: str = "",
    language: str = "",
) -> Order:
    """The order snapshot of a paid cart (invariant 7): numbered, with its lines, every
    amount as priced by cart.pricing. `authorized_only`: the card is authorized, not yet
    captured. `unsuppliable`: why stock could not be committed (invariant 12); the order
    is then made for the record, flagged for staff. `language`: the shopper's language
    (settings.LANGUAGES), in which the order's emails are written; else the default."""
    currency = totals.currency
    order = Order.objects.create(
        number=next_order_number(now.year),
        cart=cart,
        user_id=cart.user_id,
        status=(
            Order.Status.NEEDS_ATTENTION if unsuppliable else Order.Status.AUTHORIZED if authorized_only else Order.Status.PAID
        ),
        payment_status=Order.PaymentStatus.AUTHORIZED if authorized_only else Order.PaymentStatus.PAID,
        currency=currency,
        exchange_rate=totals.rate,
        email=cart.email,
        shipping_address=cart.shipping_address,
        billing_address=cart.billing_address,
        shipping_method=cart.shipping_method,
        shipping_method_name=shipping_method_name,
        subtotal=totals.subtotal,
        shipping=totals.shipping,
        tax=totals.tax,
        discount=totals.discount,
        total=totals.total,
        refunded=zero(currency),
        tax_lines=[{"name": t.name, "rate": str(t.rate), "amount": str(t.amount.amount)} for t in totals.tax_lines],
        prices_include_tax=totals.prices_include_tax,
        discount_code=totals.discount_code if totals.discount_problem is None else "",
        language=order_language(language),
        staff_note=(
            f"{now:%Y-%m-%d %H:%M} UTC: paid after the reservation lapsed, and it could no longer be supplied ({unsuppliable}); "
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
                discount=priced.discount,
                tax=priced.tax,
                tax_rate=priced.tax_rate,
            )
            for priced in totals.lines
        ]
    )
    OrderEvent.objects.create(order=order, from_status="", to_status=order.status, note="order placed")
    return order


# --- the status machine --------------------------------------------------------------

def lock_order(order_id: int) -> Order:
    """The order row, locked (lock order: shop/locks.py): two staff members, or staff
    and the shopper, acting on one order at once wait for each other, and the second
    sees what the first did."""
    return Order.objects.select_for_update().get(pk=order_id)


def transition(order: Order, to: str, *, actor_id: int | None = None, by_customer: bool = False, note: str = "") -> None:
    """Move the locked `order` to `to`, recorded as an event; TransitionRefused if the
    machine does not allow it (nothing changes then)."""
    refusal = transition_refusal(order, to)
    if refusal is not None:
        raise TransitionRefused(refusal, details={"status": [refusal], "reason": order.status})
    OrderEvent.objects.create(
        order=order, from_status=order.status, to_status=to, actor_id=actor_id, by_customer=by_customer, note=note[:500]
    )
    order.status = to
    order.save(update_fields=["status"])


def change_status(*, order_id: int, to: str, actor_id: int | None = None, note: str = "") -> Order:
    """A staff member moves an order on (processing, delivered, resolving needs
    attention). Refused with a sentence when the status machine does not allow it."""
    with transaction.atomic():
        order = lock_order(order_id)
        transition(order, to, actor_id=actor_id, note=note)
    return order


def cancel(*, order_id: int, by_customer: bool, actor_id: int | None = None, note: str = "") -> Order:
    """Mark the order cancelled, inside the caller's transaction (checkout.cancellation,
    which also gives the stock and the money back). The order row is locked last, as the
    lock order has it; OrderNotCancellable says why not, and the caller rolls back."""
    order = lock_order(order_id)
    refusal = cancellation_refusal(order, by_customer=by_customer)
    if refusal is not None:
        raise OrderNotCancellable(refusal, details={"reason": order.status})
    transition(order, S.CANCELLED, actor_id=actor_id, by_customer=by_customer, note=note or "cancelled")
    return order


def returnable_quantities(order: Order) -> dict[int, int]:
    """order line id -> units not returned yet."""
    return units_left(order, ReturnedLine.objects.filter(order_line__order=order))


@dataclass(frozen=True)
class ReturnedUnits:
    amount: Money  # what the returned units cost, at the order's snapshot prices
    variants: dict[int, int]  # variant id -> units, for restocking


def record_return(
    *, order_id: int, quantities: dict[Any, Any], include_shipping: bool, restocked: bool, actor_id: int | None = None
) -> ReturnedUnits:
    """Inside the caller's transaction (checkout.returns): record that these units
    (order line id -> units) came back, under the order's row lock (last in the lock
    order), and say what they cost at the prices the customer paid (plus the order's
    shipping if asked). InvalidInput names every line asked for more than is left."""
    order = lock_order(order_id)
    lines = {line.pk: line for line in order.lines.all()}
    errors: dict[str, list[str]] = {}
    wanted = clean_line_quantities(quantities, returnable_quantities(order), not_yet="returned", errors=errors)
    if not wanted and not errors and not include_shipping:
        errors["lines"] = ["Return at least one unit, or refund the shipping."]
    if errors:
        first, messages = next(iter(errors.items()))
        raise InvalidInput(f"{first}: {messages[0]}", details=errors)
    amount = zero(order.currency)
    variants: dict[int, int] = {}
    for line_id, quantity in wanted.items():
        line = lines[line_id]
        amount += line.unit_price * quantity
        if line.variant_id is not None:
            variants[line.variant_id] = variants.get(line.variant_id, 0) + quantity
        ReturnedLine.objects.create(order_line=line, quantity=quantity, restocked=restocked, created_by_id=actor_id)
    if include_shipping:
        amount += order.shipping
    return ReturnedUnits(amount, variants)


def record_refunded(*, order_id: int, refunded: Money, reason: str = "Refunded") -> Order:
    """What has been refunded of an order so far (cumulative, as Stripe reports it; a
    smaller, stale figure never lowers it), the payment status that follows, and a note
    of the rise (`reason`) for the order's history."""
    with transaction.atomic():
        order = lock_order(order_id)
        if refunded.currency.code != order.currency:
            raise ValueError(f"refund in {refunded.currency.code} for an order in {order.currency}")
        before = order.refunded if order.refunded.currency.code == order.currency else zero(order.currency)
        if refunded.amount > before.amount:
            RefundNote.objects.create(order=order, amount=refunded - before, reason=reason[:100])
        if refunded.amount > order.refunded.amount or order.refunded.currency.code != order.currency:
            order.refunded = refunded
        if order.refunded.amount <= 0:
            return order
        fully = order.refunded.amount >= order.total.amount
        order.payment_status = Order.PaymentStatus.REFUNDED if fully else Order.PaymentStatus.PARTIALLY_REFUNDED
        order.save(update_fields=["refunded", "refunded_currency", "payment_status"])
        if fully and order.status == Order.Status.PAID:
            transition(order, Order.Status.REFUNDED, note="refunded in full")
    return order


def mark_captured(*, order: Order, actor_id: int | None = None) -> None:
    """An authorized payment was captured: the order is paid (if it was waiting for it)."""
    with transaction.atomic():
        locked = lock_order(order.pk)
        if locked.payment_status == Order.PaymentStatus.AUTHORIZED:
            locked.payment_status = Order.PaymentStatus.PAID
            locked.save(update_fields=["payment_status"])
        if locked.status == Order.Status.AUTHORIZED:
            transition(locked, Order.Status.PAID, actor_id=actor_id, note="payment captured")
    order.payment_status, order.status = locked.payment_status, locked.status


def mark_payment_failed(*, order_id: int, reason: str) -> Order:
    """The card authorization behind an order was cancelled or lapsed before capture:
    no money is behind it. Staff are asked to look (flag_order)."""
    with transaction.atomic():
        order = lock_order(order_id)
        order.payment_status = Order.PaymentStatus.FAILED
        order.save(update_fields=["payment_status"])
    return flag_order(order_id=order_id, reason=reason)


def flag_order(*, order_id: int, reason: str, kind: str = "other", now: datetime | None = None) -> Order:
    """Ask staff to look at an order (a dispute, a lapsed authorization): status
    needs_attention and a dated line in its staff note."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        line = f"{now:%Y-%m-%d %H:%M} UTC: {reason}"
        if line not in order.staff_note:
            order.staff_note = f"{order.staff_note}\n{line}".strip()
            order.save(update_fields=["staff_note"])
        if order.status != Order.Status.NEEDS_ATTENTION:
            transition(order, Order.Status.NEEDS_ATTENTION, note=reason)
    transaction.on_commit(partial(alert_staff, f"Order {order.number} needs attention", reason, kind=kind))
    return order


# --- customers -----------------------------------------------------------------------

def link_guest_orders(*, email: str, user_id: int) -> int:
    """Give the guest orders placed with `email` (any letter case) to the customer who
    has just proved they own it; returns how many. The caller has checked that the
    address is verified: an unverified one must never reach here. One UPDATE: orders
    that already have a customer keep theirs."""
    email = email.strip()
    if not email:
        return 0
    return Order.objects.filter(user__isnull=True, email__iexact=email).update(user_id=user_id)


# --- privacy: a customer who leaves ------------------------------------------------------

# What an anonymised order keeps of an address: the place the goods went as far as the
# tax records need it (a tax rule is chosen by country and region, taxes.selectors), and
# nothing that names or finds a person. Pages, emails and admin still render it (the
# region and the country).
ANONYMISED_ADDRESS_KEYS = ("country", "region")
ANONYMISED_EMAIL_DOMAIN = "anonymised.invalid"  # .invalid never resolves (RFC 2606)


def anonymised_email(order_id: int) -> str:
    """The email an anonymised order keeps: unique per order, plainly nobody's."""
    return f"deleted-{order_id}@{ANONYMISED_EMAIL_DOMAIN}"


def is_anonymised(order: Order) -> bool:
    return order.email.endswith(f"@{ANONYMISED_EMAIL_DOMAIN}")


def anonymised_address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {key: address[key] for key in ANONYMISED_ADDRESS_KEYS if address.get(key)}


def anonymise_orders(*, order_ids: list[int] | set[int]) -> int:
    """Take the person out of these orders (their customer is leaving, accounts.privacy):
    the email becomes `deleted-<id>@anonymised.invalid`, the addresses keep only country
    and region, the customer link goes, and the guest link's token is replaced, so old
    emailed links open nothing. Every amount, line, tax, discount, refund, parcel, event
    and ledger row stays as it was. Order rows are locked by primary key (lock order:
    shop/locks.py; callers lock carts first). Returns how many orders changed."""
    with transaction.atomic():
        orders = list(Order.objects.select_for_update().filter(pk__in=set(order_ids)).order_by("pk"))
        token_field = Order._meta.get_field("access_token")
        for order in orders:
            order.email = anonymised_email(order.pk)
            order.shipping_address = anonymised_address(order.shipping_address) or {}
            order.billing_address = anonymised_address(order.billing_address)
            order.user_id = None
            order.access_token = token_field.get_default()
        Order.objects.bulk_update(orders, ["email", "shipping_address", "billing_address", "user", "access_token"])
    return len(orders)
