"""Paying for a checkout: the payment step of the API (request_payment) and what becomes
of a checkout's intents when it ends without payment.

The Stripe requests of one cart run under its payment advisory lock
(payments.services.payment_lock); the database work before and after them takes the
cart row lock in short transactions (lock order: shop/locks.py). A paid intent goes to
checkout.completion, whichever way it is found.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from moneyed import Money

from cart import services as cart_services
from cart.models import Cart
from cart.pricing import CartTotals, price_cart
from cart.selectors import parse_cart_id
from checkout.completion import complete_checkout
from checkout.reservations import capped_expiry, keep_reservation_alive
from discounts import selectors as discount_selectors
from discounts import services as discounts
from orders.models import Order
from payments import customers, declines, records, stripe_client
from payments import services as payment_services
from payments.amounts import from_stripe, to_stripe
from payments.models import Payment
from payments.selectors import has_cancellable_intent
from payments.stripe_client import PaymentIntentInfo, StripeRefused
from shop.errors import (
    CartNotInCheckout,
    CheckoutIncomplete,
    DiscountUnavailable,
    NotFound,
    PaymentFailed,
    PaymentInProgress,
    PaymentProviderUnavailable,
    ReservationExpired,
    ShopError,
)

log = logging.getLogger(__name__)

NOT_IN_CHECKOUT_TO_PAY = "This cart is not in checkout. Start checkout before paying."


@dataclass(frozen=True)
class PaymentResult:
    """What the payment endpoint answers (docs/api.md); `cart_id` to render the cart."""

    payment_intent_id: str
    client_secret: str
    status: str
    amount: Money
    cart_id: UUID


def _load_cart(cart_id: UUID) -> Cart:
    cart = Cart.objects.filter(pk=cart_id).first()
    if cart is None:
        raise NotFound("That cart does not exist.")
    return cart


def _payable_error(cart: Cart, now: datetime) -> ShopError | None:
    return cart_services.checkout_problem(cart, now, not_in_checkout=NOT_IN_CHECKOUT_TO_PAY)


def _require_payable(cart: Cart, now: datetime) -> None:
    cart_services.require_live_checkout(cart, now, not_in_checkout=NOT_IN_CHECKOUT_TO_PAY)


def _require_details(cart: Cart) -> None:
    missing = {}
    if not cart.email:
        missing["email"] = ["Enter your email address before paying."]
    if not cart.shipping_address:
        missing["shipping_address"] = ["Enter a shipping address before paying."]
    if missing:
        raise CheckoutIncomplete(
            "Enter your " + " and ".join(name.replace("_", " ") for name in missing) + " before paying.",
            details={"missing": list(missing), **missing},
        )


def _uses_code(totals: CartTotals) -> bool:
    return bool(totals.discount_code) and totals.discount_problem is None


def _require_usable_discount(cart: Cart, totals: CartTotals) -> None:
    """The cart's code must still give what the shopper was shown (`totals`, the cart
    priced now), and have a use left for them (checked again under its lock when the use
    is reserved): else 409 discount_unavailable before anything is asked of Stripe."""
    if not cart.discount_code:
        return
    reason = totals.discount_problem or discount_selectors.code_problem(
        cart.discount_code, email=cart.email, holder_id=cart.pk, now=timezone.now()
    )
    if reason is not None:
        message = totals.discount_message or discount_selectors.reason_sentence(reason, cart.discount_code)
        raise DiscountUnavailable(f"{message} Remove it to pay without it.", reason=reason)


# --- the payment request --------------------------------------------------------------


def request_payment(
    *, cart_id: UUID | str, payment_method: Any = None, user_id: int | None = None, save_card: bool = False
) -> PaymentResult:
    """The payment step of docs/api.md: an intent for the server-computed total, confirmed
    with `payment_method` when one is given. `user_id`: the signed-in shopper asking (None
    for a guest), whose saved cards, and only theirs, may pay. `save_card`: the new card
    `payment_method` is saved to the shopper's customer first (payments.customers.
    save_card_for_payment), once the cart is found payable and before any intent is made
    or confirmed, so that its one 3-D Secure check is the payment's; a guest asking is
    400 invalid, a card its bank will not let be saved 402, and nothing is charged then;
    a saved card whose payment is declined is detached again.

    Checks in the order of the API's errors: the cart exists (404), is in checkout with a
    live reservation (409), the payment method is well-formed (400 invalid), email and
    shipping address are there (400 checkout_incomplete), then, asking Stripe, the payment
    method exists and is a card nobody saved or one the shopper saved (400 invalid; a card
    saved by someone else changes nothing). A cart that is already
    completed answers with its paid intent (a repeated request after success).
    Raises PaymentFailed (402) for a declined card, PaymentProviderUnavailable (502)
    when Stripe cannot be reached (then nothing in the shop has changed), and
    PaymentInProgress (429 rate_limited, Retry-After) while another request of the same
    cart is still talking to Stripe.
    """
    cart_uuid = parse_cart_id(cart_id)
    cart = _load_cart(cart_uuid)
    if cart.status == Cart.Status.COMPLETED:
        return _completed_result(cart)
    try:
        _require_payable(cart, timezone.now())
    except ReservationExpired:
        # 3-D Secure may have finished after the reservation ran out, its webhook still
        # on the way: a paid intent completes the checkout (invariant 12) rather than 409.
        paid = payment_services.paid_current_intent(cart)
        if paid is None:
            raise
        return _complete_now(cart.pk, paid)
    if save_card:
        card = customers.card_to_save(payment_method=payment_method, user_id=user_id)
    else:
        card = payment_services.clean_payment_method(payment_method)
    _require_details(cart)
    # A card to save is nobody's yet: its customer is known once it is saved (_pay).
    payer = customers.payer_for(payment_method=card, user_id=user_id) if card is not None and not save_card else None
    with payment_services.payment_lock(cart_uuid):
        return _pay(cart_uuid, card, payer, save_for=user_id if save_card else None)


def _complete_now(cart_id: UUID, intent: PaymentIntentInfo) -> PaymentResult:
    outcome = complete_checkout(cart_id=cart_id, payment_intent=intent)
    if outcome.order is None:
        raise declines.payment_failed(outcome.problem or "card_declined")
    return PaymentResult(intent.id, intent.client_secret, intent.status, from_stripe(intent.amount, intent.currency), cart_id)


# How often one request follows a quote that changes while Stripe is asked (a shipping
# method chosen in another tab) before it gives up.
_QUOTE_ROUNDS = 3


def _pay(cart_id: UUID, card: str | None, payer: str | None = None, *, save_for: int | None = None) -> PaymentResult:
    """Under the cart's payment lock: the intent for the current quote, recorded, then
    confirmed with `card` (for a saved card, naming its customer `payer`). With
    `save_for` (a user id), the new `card` is first saved to that user's customer, which
    the intent then names. No row lock is held during a Stripe call."""
    cart = _load_cart(cart_id)  # read again: another request may have paid meanwhile
    if cart.status == Cart.Status.COMPLETED:
        return _completed_result(cart)
    _require_payable(cart, timezone.now())
    _require_details(cart)
    totals = price_cart(cart)
    _require_usable_discount(cart, totals)
    if save_for is not None and card is not None:
        # Saved before the intent exists: a card its bank will not save charges nothing.
        card = customers.save_card_for_payment(user_id=save_for, card=card).payment_method_id
        payer = customers.customer_id_of(user_id=save_for)
    for round_number in range(_QUOTE_ROUNDS):
        if round_number:  # the quote changed while Stripe was asked: price it again
            totals = price_cart(cart)
        amount = to_stripe(totals.total)
        current = payment_services.latest_payment(cart_id)

        intent = payment_services.intent_for_quote(cart, current, amount=amount, currency=totals.currency, new_card=card is not None)

        if intent.is_paid:  # paid already (3-D Secure finished in the browser)
            return _complete_now(cart_id, intent)

        cart, problem, quote_held = _record_intent(cart_id, intent, totals)
        if problem is not None:
            raise problem
        if cart.status == Cart.Status.COMPLETED:  # completed by a webhook meanwhile
            return _completed_result(cart)
        if quote_held:
            break
    else:
        raise PaymentInProgress("Your order kept changing while paying. Check the total and pay again.")

    if card is not None:
        try:
            intent = payment_services.confirm_intent(intent, card, customer=payer)
        except PaymentFailed:
            if save_for is not None:  # declined: a card saved for this payment is not kept
                customers.unsave_declined_card(user_id=save_for, payment_method_id=card)
            raise

    if intent.is_paid:
        return _complete_now(cart_id, intent)
    if card is None and intent.status == Payment.Status.REQUIRES_PAYMENT_METHOD and intent.error_code:
        # The last attempt (a decline, a failed 3-D Secure) failed and no new card came.
        raise declines.payment_failed(intent.error_code)
    return PaymentResult(intent.id, intent.client_secret, intent.status, totals.total, cart_id)


def _record_intent(cart_id: UUID, intent: PaymentIntentInfo, totals: CartTotals) -> tuple[Cart, ShopError | None, bool]:
    """Record the intent (committed whatever follows, so that an intent Stripe made is
    always on record for the next request or the sweeper to reuse or cancel), then, with
    the time read after the Stripe calls, check the cart can still pay and its quote is
    still the intent's: then that quote is stored with the intent (what a late payment is
    judged against) and the reservation is extended for the payment.

    Returns (cart, error to raise or None, whether the quote held)."""
    with transaction.atomic():
        locked = cart_services.lock_cart(cart_id)
        payment = records.record_new_intent(cart=locked, intent=intent)
        now = timezone.now()
        if locked.status == Cart.Status.COMPLETED:
            return locked, None, True
        problem = _payable_error(locked, now)
        if problem is not None:
            return locked, problem, False
        current = price_cart(locked)
        if current.total != totals.total:
            # The quote changed while Stripe was asked: the intent has a stale amount.
            return locked, None, False
        records.save_quote(payment, records.quote_of(locked, current))
        if _uses_code(current):
            # The code's use is held with the stock, in its lock order (shop/locks.py): a
            # code with its last use taken meanwhile is refused before any card is charged.
            try:
                discounts.reserve_use(
                    holder_id=locked.pk,
                    code=current.discount_code,
                    email=locked.email,
                    expires_at=capped_expiry(locked, now + settings.RESERVATION_PAYMENT_TTL),  # held as long as the stock
                    now=now,
                )
            except DiscountUnavailable as exc:
                return locked, exc, False
        # Saves the cart, then extends the stock: the last statement (shop/locks.py).
        keep_reservation_alive(
            locked, now=now, ttl=settings.RESERVATION_PAYMENT_TTL, extend_below=settings.RESERVATION_PAYMENT_TTL
        )
    return locked, None, True


def _completed_result(cart: Cart) -> PaymentResult:
    """A completed cart: its order's payment, as Stripe (or, if Stripe is away, the
    shop's record) last saw it."""
    order = Order.objects.filter(cart_id=cart.pk).first()
    payment = Payment.objects.filter(order=order).order_by("-attempt").first() if order else None
    if order is None or payment is None:
        raise CartNotInCheckout("This cart is no longer in checkout.")
    try:
        intent = stripe_client.retrieve_payment_intent(payment.stripe_payment_intent_id)
        secret, status = intent.client_secret, intent.status
    except (PaymentProviderUnavailable, StripeRefused):
        secret, status = "", payment.status
    return PaymentResult(payment.stripe_payment_intent_id, secret, status, order.total, cart.pk)


# --- when checkout ends without payment -----------------------------------------------


def cancel_payment_for_cart(cart_id: UUID | str) -> int:
    """Cancel the open intents of a cart whose checkout was cancelled or abandoned.

    Call it after the transaction that ended the checkout commits (it talks to Stripe).
    An intent found paid instead (3-D Secure finished in the browser just before) goes
    to complete_checkout, as its webhook would, which applies its rule for carts no
    longer in checkout. Stripe being away leaves the intent open for the sweeper, as
    does a payment request of the cart running now (the shopper came back to checkout).
    Returns how many intents were cancelled.
    """
    cart_uuid = parse_cart_id(cart_id)
    try:
        with payment_services.payment_lock(cart_uuid):
            return payment_services.cancel_open_intents(
                cart_uuid, on_paid=lambda intent: complete_checkout(cart_id=cart_uuid, payment_intent=intent)
            )
    except PaymentInProgress:
        log.info("a payment of cart %s is in progress: its intents are left to the sweeper", cart_uuid)
        return 0


def cancel_intents_of_ended_checkouts(*, now: datetime | None = None, older_than: timedelta = timedelta(minutes=2)) -> int:
    """The sweeper's half of cancel_payment_for_cart: open intents of carts that left
    checkout (cancelled, abandoned, merged) without paying. Returns intents cancelled."""
    now = now or timezone.now()
    cart_ids = payment_services.carts_with_intents_to_cancel(updated_before=now - older_than)
    return sum(cancel_payment_for_cart(cart_id) for cart_id in cart_ids)


@shared_task(name="checkout.payment.cancel_payment_for_cart", ignore_result=True)
def cancel_payment_for_cart_task(cart_id: str) -> int:
    """Queued when a checkout with an open intent is cancelled or abandoned."""
    return cancel_payment_for_cart(cart_id)


def cancel_open_intents_after_commit(cart: Cart) -> None:
    """For code taking a cart out of checkout, inside its transaction: once that commits,
    the cart's open PaymentIntent is cancelled by a Celery task (the request need not
    wait for Stripe). Most ended checkouts never asked for payment and queue nothing.

    A cart without an email or a shipping address never had an intent (a payment is only
    asked for with both, _require_details, and a cart that can still leave checkout never
    loses them): nothing to look for then."""
    if cart.email and cart.shipping_address:
        transaction.on_commit(partial(_queue_intent_cancel, cart.pk))


def _queue_intent_cancel(cart_id: UUID) -> None:
    # Runs after the checkout's end committed: the shopper's request has succeeded, so a
    # broker that is down must not turn it into an error. The intent stays open for the
    # beat sweep (cancel_intents_of_ended_checkouts), which finds it from the database.
    try:
        if has_cancellable_intent(cart_id):
            cancel_payment_for_cart_task.delay(str(cart_id))
    except Exception as exc:
        log.warning("cart %s: could not queue its intent's cancellation (%s); the sweep will", cart_id, type(exc).__name__)
