"""Completing a checkout: the one way an order comes to exist. Called by the synchronous
payment confirmation (checkout.payment) and by every webhook that reports a paid intent
(checkout.webhooks).

Locks (shop/locks.py): cart -> payment -> stock rows (inventory) -> order-number
sequence -> order. No Stripe call runs inside these transactions: a refund is written as
a pending row and sent after commit (payments.refunds).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language

from cart import services as cart_services
from cart.models import Cart
from cart.pricing import CartTotals, price_cart
from catalog.services import record_sales
from currencies.money import format_money, stripe_amount
from discounts import services as discounts
from shipping.selectors import method_name
from inventory import services as inventory
from inventory.models import StockMovement
from orders import emails
from orders import services as order_services
from orders.models import Order
from payments import notices, records, refunds
from payments.amounts import from_stripe
from payments.models import Payment, Refund
from payments.stripe_client import PaymentIntentInfo
from shop import metrics
from shop.alerts import alert_staff
from shop.logging import bind
from shop.errors import DiscountUnavailable, InsufficientStock, ShopError

log = logging.getLogger(__name__)


class Problem:
    """Why a paid intent did not make a normal order."""

    NONE = ""
    NOT_PAID = "not_paid"  # the intent is not paid: nothing to complete
    AMOUNT_MISMATCH = "amount_mismatch"  # charged amount/currency differs from the quote: refunded, no order
    OUT_OF_STOCK = "out_of_stock"  # paid after the reservation lapsed and stock ran out: flagged order, refunded
    DUPLICATE_PAYMENT = "duplicate_payment"  # a second intent paid for a completed cart: refunded
    CART_CHANGED = "cart_changed"  # paid for a quote whose lines the cart no longer holds: refunded, no order


@dataclass(frozen=True)
class CheckoutOutcome:
    order: Order | None
    created: bool
    problem: str = Problem.NONE


def complete_checkout(*, cart_id: UUID | str, payment_intent: PaymentIntentInfo, now: datetime | None = None) -> CheckoutOutcome:
    """Turn a cart whose payment intent is paid (succeeded, or authorized for manual
    capture) into its order: exactly one order, one stock commit and one email whatever
    the order, duplication or concurrency of callers.

    Under the cart's row lock, in this order:
    1. A completed cart returns its order (a second intent paying for it is refunded).
    2. The intent must pay for what the cart holds. Each intent carries the quote it was
       last asked to charge for (Payment.quote: currency, lines, USD prices, rate,
       shipping). If the cart's currency or lines (variant and quantity) differ from it
       -- the checkout ended (cancelled, abandoned) while the card was being charged or
       3-D Secure finished, and the shopper changed the cart since, whether or not a
       new checkout started -- no order is made: the payment is refunded in full,
       flagged for staff, the shopper told by email, and the cart left as it is
       (Problem.CART_CHANGED). An intent without a recorded quote can only pay a cart
       still in checkout.
    3. A cart no longer in checkout whose lines are unchanged gets the intent's quote
       back (rate, unit prices, shipping) and completes like any other: what was paid is
       what was quoted, whatever the catalog or rates did meanwhile.
    4. The charged amount and currency must equal the quote, else the payment is
       refunded and flagged and no order is made (the cart stays as it was, so the
       shopper can pay again; Problem.AMOUNT_MISMATCH).
    5. The discount code's use and the reservations are committed as sales, re-reserving
       what lapsed or was released if the code's limits and the stock allow; if not, the
       order is still made, flagged for staff, refunded in full and the shopper told
       (invariants 12, 16).
    """
    intent = payment_intent
    if not intent.is_paid:
        return CheckoutOutcome(None, False, Problem.NOT_PAID)
    now = now or timezone.now()
    with transaction.atomic():
        cart = cart_services.lock_cart(cart_id)
        payment = records.lock_payment_for_intent(cart=cart, intent=intent)
        existing = Order.objects.filter(cart_id=cart.pk).first()
        if existing is not None:
            return _repeat(existing, payment, intent)

        if _cart_changed_since_quote(cart, payment):
            _refuse_changed_cart(cart, payment, intent)
            return CheckoutOutcome(None, False, Problem.CART_CHANGED)
        if cart.status != Cart.Status.CHECKOUT:
            _restore_quote(cart, payment.quote)

        totals = price_cart(cart)
        if not totals.lines or intent.currency != totals.currency or intent.amount != stripe_amount(totals.total):
            _refuse_mismatch(payment, intent, totals)
            return CheckoutOutcome(None, False, Problem.AMOUNT_MISMATCH)

        items = {priced.line.variant_id: priced.line.quantity for priced in totals.lines}
        shortage: ShopError | None = None
        movements: list[StockMovement] = []
        uses_code = bool(totals.discount_code) and totals.discount_problem is None
        try:  # the code's row before the stock rows (shop/locks.py); each in a savepoint
            if uses_code:
                discounts.commit_use(holder_id=cart.pk, code=totals.discount_code, email=cart.email, now=now)
            movements = inventory.commit(holder_id=cart.pk, items=items, order_id=None, now=now)
        except (InsufficientStock, DiscountUnavailable) as exc:  # nothing of the failed commit stays
            shortage = exc
            discounts.release_uses(holder_id=cart.pk)
            inventory.release(holder_id=cart.pk, now=now)

        order = order_services.create_order(
            cart=cart,
            totals=totals,
            authorized_only=intent.status != Payment.Status.SUCCEEDED,
            now=now,
            unsuppliable=None if shortage is None else shortage.message,
            shipping_method_name=method_name((cart.shipping_address or {}).get("country"), cart.shipping_method),
            # The language of the shopper's payment request, else this request's (a webhook's: the default).
            language=(payment.quote or {}).get("language") or get_language(),
        )
        if movements:
            inventory.attach_order(holder_id=cart.pk, order_id=order.pk, movement_ids=[m.pk for m in movements])
        if uses_code and shortage is None:
            discounts.attach_order(holder_id=cart.pk, order_id=order.pk)
        records.save_intent_state(payment, intent, order_id=order.pk)
        cart_services.complete(cart, now=now)

        bind(order=order.number, payment_intent=intent.id)
        transaction.on_commit(partial(metrics.CHECKOUT_COMPLETIONS.labels(outcome="ok" if shortage is None else "out_of_stock").inc))
        if shortage is None:
            transaction.on_commit(partial(emails.send_order_confirmation, order.pk))
            # Best-selling order: counted after commit, so no product row is held meanwhile.
            transaction.on_commit(partial(record_sales, items), robust=True)
            log.info("order %s created for cart %s (%s)", order.number, cart.pk, intent.id)
            return CheckoutOutcome(order, True)

        refunds.schedule_refund(
            payment=payment, amount=intent.amount, reason=Refund.Reason.OUT_OF_STOCK, note=shortage.message, order_id=order.pk
        )
        code_ran_out = totals.discount_code if isinstance(shortage, DiscountUnavailable) else ""
        transaction.on_commit(partial(emails.send_order_not_fulfilled, order.pk, code_ran_out))
        transaction.on_commit(
            partial(
                alert_staff,
                f"Order {order.number} paid but could not be supplied: refunded",
                f"Order {order.number} was paid ({intent.id}) after its reservation lapsed, and it could no longer be supplied: "
                f"{shortage.message} The payment is being refunded in full and the shopper has been told.",
                kind="unsuppliable_order",
            )
        )
        log.warning("order %s paid but could not be supplied; flagged and refunded", order.number)
        return CheckoutOutcome(order, True, Problem.OUT_OF_STOCK)


def _repeat(order: Order, payment: Payment, intent: PaymentIntentInfo) -> CheckoutOutcome:
    """complete_checkout for a cart that already has its order."""
    if payment.order_id == order.pk:
        records.save_intent_state(payment, intent)
        if intent.status == Payment.Status.SUCCEEDED and order.payment_status == Order.PaymentStatus.AUTHORIZED:
            order_services.mark_captured(order=order)
        return CheckoutOutcome(order, False)
    # Another intent paid for a cart that is already an order: give that money back.
    flagged = refunds.refund_unwanted_payment(
        payment=payment,
        intent=intent,
        reason=Refund.Reason.DUPLICATE,
        attention=f"Second payment for order {order.number}; refunded automatically.",
        note=f"Order {order.number} was already paid.",
    )
    if flagged:
        transaction.on_commit(
            partial(
                alert_staff,
                f"Duplicate payment for order {order.number}: refunded",
                f"Payment {intent.id} arrived for order {order.number}, which another payment had already paid. "
                "It is being refunded in full.",
            )
        )
    return CheckoutOutcome(order, False, Problem.DUPLICATE_PAYMENT)


def _cart_changed_since_quote(cart: Cart, payment: Payment) -> bool:
    """Whether the cart no longer holds what the payment's quote was for (step 2 of
    complete_checkout)."""
    quote = payment.quote
    if not quote:
        return cart.status != Cart.Status.CHECKOUT
    quoted_lines = {int(line["variant_id"]): int(line["quantity"]) for line in quote["lines"]}
    lines = cart_services.line_quantities(cart)
    if lines != quoted_lines or quote["currency"] != cart.currency:
        return True
    # In checkout the cart's own quote decides the shipping price (a method chosen after
    # the intent was made is an amount mismatch); an ended checkout cannot change it.
    return cart.status != Cart.Status.CHECKOUT and quote["shipping_method"] != cart.shipping_method


def _restore_quote(cart: Cart, quote: dict) -> None:
    """Put the intent's quote back on a cart whose checkout ended (cancelling it cleared
    the fixed prices and rate), so the order is priced as the payment was."""
    def decimal_or_none(key: str) -> Decimal | None:
        return None if quote.get(key) is None else Decimal(quote[key])

    cart_services.restore_quote(
        cart,
        rate=Decimal(quote["rate"]),
        unit_prices_usd={int(line["variant_id"]): Decimal(line["unit_price_usd"]) for line in quote["lines"]},
        shipping_usd=decimal_or_none("shipping_usd"),
        free_over_usd=decimal_or_none("free_over_usd"),
        discount_code=quote.get("discount_code", ""),
    )


def _refuse_changed_cart(cart: Cart, payment: Payment, intent: PaymentIntentInfo) -> None:
    """Paid for a quote the cart no longer holds: no order; refund in full, flag for
    staff and tell the shopper, once however often it is reported."""
    charged = format_money(from_stripe(intent.amount, intent.currency))
    reason = (
        f"Paid {charged} for a checkout of this cart that had ended (cart now {cart.status}) and whose items changed "
        "since; no order made, refunded automatically, shopper told."
    )
    if not refunds.refund_unwanted_payment(payment=payment, intent=intent, reason=Refund.Reason.CART_CHANGED, attention=reason):
        return
    transaction.on_commit(partial(notices.send_refunded_without_order, payment.pk))
    transaction.on_commit(
        partial(alert_staff, f"Payment {intent.id} came after its checkout ended: refunded", f"Cart {cart.pk}: {reason}")
    )
    log.warning("payment %s for cart %s whose checkout ended and changed: refused and refunded", intent.id, cart.pk)


def _refuse_mismatch(payment: Payment, intent: PaymentIntentInfo, totals: CartTotals) -> None:
    """The intent charged something other than the quote: no order; refund it in full
    and flag it for staff, once however often it is reported."""
    charged = from_stripe(intent.amount, intent.currency)
    reason = f"Charged {format_money(charged)} but the cart's total is {format_money(totals.total)}; no order made, refunded automatically."
    if not refunds.refund_unwanted_payment(payment=payment, intent=intent, reason=Refund.Reason.AMOUNT_MISMATCH, attention=reason):
        return
    transaction.on_commit(
        partial(alert_staff, f"Payment {intent.id} did not match its cart: refunded", f"Cart {payment.cart_id}: {reason}")
    )
    log.warning("payment %s amount mismatch for cart %s: refused and refunded", intent.id, payment.cart_id)
