"""Paying for a checkout: one PaymentIntent per checkout for the server-computed total,
server-side confirmation with the shopper's payment method, 3-D Secure left to the
browser, cancellation when the checkout ends without payment, capture of authorized
payments (STRIPE_CAPTURE_METHOD=manual).

No Stripe call runs while a row lock is held: the Stripe requests of one cart are
serialized by a PostgreSQL advisory lock on the cart's id instead, and the database work
before and after them takes the cart lock in short transactions of its own. The lock
holds off other payment requests of the cart and the writers that end its checkout
(cancel, abandon: hold_payment_lock_until_commit), never stock or other cart writers.
Lock order: this advisory lock -> cart row (as in models.py); it is only ever polled
for, never waited on, so a holder waiting for a row lock cannot deadlock with it.
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from moneyed import Money

from cart.models import Cart
from cart.pricing import CartTotals, price_cart
from cart.selectors import parse_cart_id
from cart.services import keep_reservation_alive, lock_cart
from orders import services as order_services
from orders.models import Order
from payments import declines, records, stripe_client
from payments.amounts import from_stripe, to_stripe
from payments.models import Payment
from payments.selectors import CANCELLABLE_STATUSES
from payments.stripe_client import CardDeclined, PaymentIntentInfo, StripeRefused
from shop.errors import (
    CartNotInCheckout,
    CheckoutIncomplete,
    InvalidInput,
    NotFound,
    PaymentInProgress,
    PaymentProviderUnavailable,
    ReservationExpired,
    ShopError,
)

log = logging.getLogger(__name__)

_PAYMENT_METHOD_ID = re.compile(r"^(pm|card|src)_[A-Za-z0-9_]{1,250}$")


@dataclass(frozen=True)
class PaymentResult:
    """What the payment endpoint answers (API.md); `cart_id` to render the cart."""

    payment_intent_id: str
    client_secret: str
    status: str
    amount: Money
    cart_id: UUID


# --- the advisory lock of a cart's payment requests ------------------------------------

# How long a request waits for another request paying for the same cart (a double click,
# a second tab) before it answers 429 rate_limited with Retry-After. Short on purpose:
# the holder's worst case is several Stripe calls, each up to STRIPE_TIMEOUT_SECONDS and
# its retries, which is longer than a web request may take (gunicorn kills workers after
# 30 s); a usual confirmation takes a second or two, so a double click still gets the
# first request's outcome, and the retry after a 429 sees it too.
PAYMENT_LOCK_WAIT_SECONDS = 8.0
PAYMENT_BUSY_RETRY_AFTER_SECONDS = 2
_LOCK_POLL_SECONDS = 0.05


def _lock_key(cart_id: UUID) -> int:
    digest = hashlib.blake2b(f"shop-payment:{cart_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _acquire(key: int, *, until_commit: bool, wait_seconds: float) -> None:
    """Take the advisory lock `key`, polling (never a blocking wait, so a holder that
    waits for a row lock this caller holds cannot deadlock with it) until
    `wait_seconds` have passed; then PaymentInProgress."""
    function = "pg_try_advisory_xact_lock" if until_commit else "pg_try_advisory_lock"
    deadline = time.monotonic() + wait_seconds
    with connection.cursor() as cursor:
        while True:
            cursor.execute(f"SELECT {function}(%s)", [key])
            if cursor.fetchone()[0]:
                return
            if time.monotonic() >= deadline:
                raise PaymentInProgress(retry_after=PAYMENT_BUSY_RETRY_AFTER_SECONDS)
            time.sleep(_LOCK_POLL_SECONDS)


@contextmanager
def _payment_lock(cart_id: UUID) -> Iterator[None]:
    """Serialize the Stripe requests of one cart across processes and hosts: a double
    click or two tabs wait for each other instead of making two intents or two charges.
    PaymentInProgress (429) when the other one takes longer than PAYMENT_LOCK_WAIT_SECONDS."""
    key = _lock_key(cart_id)
    _acquire(key, until_commit=False, wait_seconds=PAYMENT_LOCK_WAIT_SECONDS)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def hold_payment_lock_until_commit(*, cart_id: UUID | str) -> None:
    """For code about to take a cart out of checkout (cart.services.cancel_checkout and
    abandon_idle_carts, through cart.signals.checkout_ending), inside its transaction and
    before it locks the cart row: wait for a payment request of this cart to finish, then
    hold its lock to the end of the caller's transaction, so no card is charged while the
    checkout ends. PaymentInProgress (429) if the payment is still running after
    PAYMENT_LOCK_WAIT_SECONDS; the caller then changes nothing."""
    if not connection.in_atomic_block:
        raise RuntimeError("hold_payment_lock_until_commit needs the caller's transaction")
    _acquire(_lock_key(parse_cart_id(cart_id)), until_commit=True, wait_seconds=PAYMENT_LOCK_WAIT_SECONDS)


# --- checks ---------------------------------------------------------------------------


def _load_cart(cart_id: UUID) -> Cart:
    cart = Cart.objects.filter(pk=cart_id).first()
    if cart is None:
        raise NotFound("That cart does not exist.")
    return cart


def _payable_error(cart: Cart, now: datetime) -> ShopError | None:
    if cart.status != Cart.Status.CHECKOUT:
        return CartNotInCheckout("This cart is not in checkout. Start checkout before paying.")
    if cart.reservation_expires_at is None or cart.reservation_expires_at <= now:
        return ReservationExpired()
    return None


def _require_payable(cart: Cart, now: datetime) -> None:
    error = _payable_error(cart, now)
    if error is not None:
        raise error


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


def _clean_payment_method(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _PAYMENT_METHOD_ID.match(value.strip()):
        raise InvalidInput(
            "The payment method is not valid.",
            details={"payment_method": ["Must be a Stripe payment method id like pm_..."]},
        )
    return value.strip()


def _is_finished(payment: Payment) -> bool:
    """A paid intent that will never pay for this cart: complete_checkout refused it (its
    amount or currency was not the quote's, or the cart changed after its checkout ended)
    and refunded and flagged it, without an order. The next attempt needs a new intent."""
    if payment.order_id is not None:
        return False
    return payment.needs_attention or payment.amount_refunded > 0 or payment.refunds.exists()


# --- the payment request --------------------------------------------------------------


def request_payment(*, cart_id: UUID | str, payment_method: Any = None) -> PaymentResult:
    """The payment step of API.md: an intent for the server-computed total, confirmed
    with `payment_method` when one is given.

    Checks in the order of the API's errors: the cart exists (404), is in checkout with a
    live reservation (409), the payment method is well-formed (400 invalid), email and
    shipping address are there (400 checkout_incomplete). A cart that is already
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
        paid = _paid_current_intent(cart)
        if paid is None:
            raise
        return _complete_now(cart.pk, paid)
    card = _clean_payment_method(payment_method)
    _require_details(cart)
    with _payment_lock(cart_uuid):
        return _pay(cart_uuid, card)


def _paid_current_intent(cart: Cart) -> PaymentIntentInfo | None:
    """The cart's current intent if it is paid and may still pay for this cart."""
    current = Payment.objects.filter(cart=cart).order_by("-attempt").first()
    if current is None or current.status == "canceled" or _is_finished(current):
        return None
    try:
        intent = stripe_client.retrieve_payment_intent(current.stripe_payment_intent_id)
    except (PaymentProviderUnavailable, StripeRefused):
        return None
    return intent if intent.is_paid else None


def _complete_now(cart_id: UUID, intent: PaymentIntentInfo) -> PaymentResult:
    outcome = order_services.complete_checkout(cart_id=cart_id, payment_intent=intent)
    if outcome.order is None:
        raise declines.payment_failed(outcome.problem or "card_declined")
    return PaymentResult(intent.id, intent.client_secret, intent.status, from_stripe(intent.amount, intent.currency), cart_id)


# How often one request follows a quote that changes while Stripe is asked (a shipping
# method chosen in another tab) before it gives up.
_QUOTE_ROUNDS = 3


def _pay(cart_id: UUID, card: str | None) -> PaymentResult:
    """Under the cart's payment lock: the intent for the current quote, recorded, then
    confirmed with `card`. No row lock is held during a Stripe call."""
    cart = _load_cart(cart_id)  # read again: another request may have paid meanwhile
    if cart.status == Cart.Status.COMPLETED:
        return _completed_result(cart)
    _require_payable(cart, timezone.now())
    _require_details(cart)
    for _ in range(_QUOTE_ROUNDS):
        totals = price_cart(cart)
        amount = to_stripe(totals.total)
        current = Payment.objects.filter(cart_id=cart_id).order_by("-attempt").first()

        intent = _intent_for(cart, current, amount=amount, currency=totals.currency, new_card=card is not None)

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
        intent = _confirm(intent, card)

    if intent.is_paid:
        return _complete_now(cart_id, intent)
    if card is None and intent.status == "requires_payment_method" and intent.error_code:
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
        locked = lock_cart(cart_id)
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
        keep_reservation_alive(
            locked, now=now, ttl=settings.RESERVATION_PAYMENT_TTL, extend_below=settings.RESERVATION_PAYMENT_TTL
        )
        locked.last_activity_at = now
        locked.save(update_fields=["reservation_expires_at", "last_activity_at", "updated_at"])
    return locked, None, True


def _idempotency_key(cart: Cart, attempt: int, amount: int, currency: str) -> str:
    return f"shop-pi-{cart.pk}-{attempt}-{amount}-{currency.lower()}-{settings.STRIPE_CAPTURE_METHOD}"


def _intent_for(cart: Cart, current: Payment | None, *, amount: int, currency: str, new_card: bool) -> PaymentIntentInfo:
    """The checkout's intent for `amount` in `currency`.

    The current intent is kept when it can still charge exactly the quote: open, in the
    quote's currency and not yet attempted (its amount updated if the total changed), or
    attempted and failed when no new card comes (its failure is reported). A paid or
    processing one is returned for complete_checkout to judge, unless it is finished
    (refused and refunded without an order). Otherwise a new intent is made: none yet,
    the current one ended or is finished, its currency is not the quote's (it is
    cancelled first: Stripe keeps an intent's currency), or a new card follows a failed
    attempt or an unfinished 3-D Secure (an intent is confirmed with one card at a time).
    """
    attempt = 1
    if current is not None:
        intent = stripe_client.retrieve_payment_intent(current.stripe_payment_intent_id)
        if intent.is_paid or intent.status == "processing":
            if not _is_finished(current):
                return intent
        elif intent.is_open:
            same_currency = intent.currency == currency.upper()
            spent = intent.has_been_attempted or intent.status == "requires_action"
            if same_currency and not spent:
                if intent.amount != amount:
                    intent = stripe_client.update_payment_intent_amount(intent.id, amount=amount)
                return intent
            if same_currency and not new_card and intent.amount == amount:
                return intent  # its failure is reported; the next card replaces it
            intent = stripe_client.cancel_payment_intent(intent.id)
            records.record_intent_state(intent)
            if intent.is_paid:  # paid while being replaced (3-D Secure finished just now)
                return intent
        attempt = current.attempt + 1
    return stripe_client.create_payment_intent(
        amount=amount,
        currency=currency,
        cart_id=str(cart.pk),
        idempotency_key=_idempotency_key(cart, attempt, amount, currency),
        capture_method=settings.STRIPE_CAPTURE_METHOD,
    )


def _confirm(intent: PaymentIntentInfo, card: str) -> PaymentIntentInfo:
    try:
        confirmed = stripe_client.confirm_payment_intent(intent.id, payment_method=card)
    except CardDeclined as exc:
        records.record_intent_state(_failed(intent, exc.code, exc.stripe_message))
        raise declines.payment_failed(exc.code) from None
    except StripeRefused as exc:
        if exc.http_status == 404:
            raise InvalidInput(
                "That payment method does not exist.", details={"payment_method": ["Unknown payment method."]}
            ) from None
        log.warning("confirmation of %s refused: %s", intent.id, exc)
        # A retried confirmation that Stripe had already carried out is refused as a
        # repeat: what counts is the intent's state, so look before calling it a failure.
        current = stripe_client.retrieve_payment_intent(intent.id)
        records.record_intent_state(current)
        if current.is_paid or current.status in ("requires_action", "processing"):
            return current
        raise declines.payment_failed(current.error_code or exc.code or "payment_method_unusable") from None
    records.record_intent_state(confirmed)
    return confirmed


def _failed(intent: PaymentIntentInfo, code: str, message: str) -> PaymentIntentInfo:
    return PaymentIntentInfo(
        id=intent.id,
        amount=intent.amount,
        currency=intent.currency,
        status="requires_payment_method",
        capture_method=intent.capture_method,
        client_secret=intent.client_secret,
        cart_id=intent.cart_id,
        error_code=code,
        error_message=message,
        charge_id=intent.charge_id,
    )


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
        with _payment_lock(cart_uuid):
            return _cancel_open_intents(cart_uuid)
    except PaymentInProgress:
        log.info("a payment of cart %s is in progress: its intents are left to the sweeper", cart_uuid)
        return 0


def _cancel_open_intents(cart_uuid: UUID) -> int:
    if Cart.objects.filter(pk=cart_uuid, status=Cart.Status.CHECKOUT).exists():
        return 0  # the shopper came back to checkout: the intent is theirs to use
    cancelled = 0
    open_payments = list(
        Payment.objects.filter(cart_id=cart_uuid, status__in=CANCELLABLE_STATUSES)
    )
    for payment in open_payments:
        try:
            intent = stripe_client.cancel_payment_intent(payment.stripe_payment_intent_id)
        except (PaymentProviderUnavailable, StripeRefused):
            log.warning("could not cancel %s of cart %s", payment.stripe_payment_intent_id, cart_uuid)
            continue
        records.record_intent_state(intent)
        if intent.status == "canceled":
            cancelled += 1
        elif intent.is_paid:
            order_services.complete_checkout(cart_id=cart_uuid, payment_intent=intent)
    return cancelled


def cancel_intents_of_ended_checkouts(*, now: datetime | None = None, older_than: timedelta = timedelta(minutes=2)) -> int:
    """The sweeper's half of cancel_payment_for_cart: open intents of carts that left
    checkout (cancelled, abandoned, merged) without paying. Returns intents cancelled."""
    now = now or timezone.now()
    cart_ids = (
        Payment.objects.filter(
            status__in=CANCELLABLE_STATUSES,
            updated_at__lt=now - older_than,
            cart__status__in=[Cart.Status.ACTIVE, Cart.Status.ABANDONED],
        )
        .values_list("cart_id", flat=True)
        .distinct()[:100]
    )
    return sum(cancel_payment_for_cart(cart_id) for cart_id in list(cart_ids))


# --- manual capture -------------------------------------------------------------------


def capture_order_payment(*, order_id: int) -> Order:
    """Capture the authorized payment of an order (STRIPE_CAPTURE_METHOD=manual)."""
    payment = Payment.objects.filter(order_id=order_id, status="requires_capture").order_by("-attempt").first()
    if payment is None:
        raise InvalidInput("This order has no authorized payment to capture.", details={"order": ["Nothing to capture."]})
    try:
        intent = stripe_client.capture_payment_intent(payment.stripe_payment_intent_id)
    except StripeRefused as exc:
        raise InvalidInput(f"Stripe refused the capture: {exc}", details={"order": [str(exc)]}) from None
    records.record_intent_state(intent)
    order = Order.objects.get(pk=order_id)
    if intent.status == "succeeded":
        order_services.mark_captured(order=order)
    return order
