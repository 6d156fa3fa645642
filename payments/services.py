"""PaymentIntents of checkouts: one intent per checkout for the server-computed total,
server-side confirmation with the shopper's payment method (3-D Secure left to the
browser), cancellation, capture of authorized payments (STRIPE_CAPTURE_METHOD=manual).
Deciding when to pay and what a paid intent becomes is checkout's (checkout.payment).

No Stripe call runs while a row lock is held: the Stripe requests of one cart are
serialized by a PostgreSQL advisory lock on the cart's id instead (step 1 of the lock
order in shop/locks.py), and the database work before and after them takes the cart lock
in short transactions of its own. The lock holds off other payment requests of the cart
and the writers that end its checkout (hold_payment_lock_until_commit), never stock or
other cart writers. It is only ever polled for, never waited on, so a holder waiting for
a row lock cannot deadlock with it.
"""
from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection

from cart.models import Cart
from cart.selectors import parse_cart_id
from orders import services as order_services
from orders.models import Order
from payments import declines, records, stripe_client
from payments.models import CANCELLABLE_STATUSES, PENDING_STATUSES, Payment
from payments.stripe_client import CardDeclined, PaymentIntentInfo, StripeRefused
from shop.errors import InvalidInput, PaymentInProgress, PaymentProviderUnavailable

log = logging.getLogger(__name__)

_PAYMENT_METHOD_ID = re.compile(r"^(pm|card|src)_[A-Za-z0-9_]{1,250}$")


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
def payment_lock(cart_id: UUID) -> Iterator[None]:
    """Serialize the Stripe requests of one cart across processes and hosts: a double
    click or two tabs wait for each other instead of making two intents or two charges.
    PaymentInProgress (429) when the other one takes longer than PAYMENT_LOCK_WAIT_SECONDS.
    Step 1 of the lock order (shop/locks.py): taken before any row lock."""
    key = _lock_key(cart_id)
    _acquire(key, until_commit=False, wait_seconds=PAYMENT_LOCK_WAIT_SECONDS)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def hold_payment_lock_until_commit(*, cart_id: UUID | str) -> None:
    """For code about to take a cart out of checkout (checkout.services.cancel_checkout and
    abandon_idle_carts), inside its transaction and before it locks the cart row (lock
    order: shop/locks.py): wait for a payment request of this cart to finish, then
    hold its lock to the end of the caller's transaction, so no card is charged while the
    checkout ends. PaymentInProgress (429) if the payment is still running after
    PAYMENT_LOCK_WAIT_SECONDS; the caller then changes nothing."""
    if not connection.in_atomic_block:
        raise RuntimeError("hold_payment_lock_until_commit needs the caller's transaction")
    _acquire(_lock_key(parse_cart_id(cart_id)), until_commit=True, wait_seconds=PAYMENT_LOCK_WAIT_SECONDS)


# --- checks ---------------------------------------------------------------------------


def clean_payment_method(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _PAYMENT_METHOD_ID.match(value.strip()):
        raise InvalidInput(
            "The payment method is not valid.",
            details={"payment_method": ["Must be a Stripe payment method id like pm_..."]},
        )
    return value.strip()


def is_finished(payment: Payment) -> bool:
    """A paid intent that will never pay for this cart: checkout.completion refused it (its
    amount or currency was not the quote's, or the cart changed after its checkout ended)
    and refunded and flagged it, without an order. The next attempt needs a new intent."""
    if payment.order_id is not None:
        return False
    return payment.needs_attention or payment.amount_refunded > 0 or payment.refunds.exists()



def latest_payment(cart_id: UUID) -> Payment | None:
    """The cart's current payment attempt, if it has one."""
    return Payment.objects.filter(cart_id=cart_id).order_by("-attempt").first()


def paid_current_intent(cart: Cart) -> PaymentIntentInfo | None:
    """The cart's current intent if it is paid and may still pay for this cart."""
    current = latest_payment(cart.pk)
    if current is None or current.status == Payment.Status.CANCELED or is_finished(current):
        return None
    try:
        intent = stripe_client.retrieve_payment_intent(current.stripe_payment_intent_id)
    except (PaymentProviderUnavailable, StripeRefused):
        return None
    return intent if intent.is_paid else None


# --- the checkout's intent -----------------------------------------------------------


def _idempotency_key(cart: Cart, attempt: int, amount: int, currency: str) -> str:
    return f"shop-pi-{cart.pk}-{attempt}-{amount}-{currency.lower()}-{settings.STRIPE_CAPTURE_METHOD}"


def intent_for_quote(cart: Cart, current: Payment | None, *, amount: int, currency: str, new_card: bool) -> PaymentIntentInfo:
    """The checkout's intent for `amount` in `currency`.

    The current intent is kept when it can still charge exactly the quote: open, in the
    quote's currency and not yet attempted (its amount updated if the total changed), or
    attempted and failed when no new card comes (its failure is reported). A paid or
    processing one is returned for checkout.completion to judge, unless it is finished
    (refused and refunded without an order). Otherwise a new intent is made: none yet,
    the current one ended or is finished, its currency is not the quote's (it is
    cancelled first: Stripe keeps an intent's currency), or a new card follows a failed
    attempt or an unfinished 3-D Secure (an intent is confirmed with one card at a time).
    """
    attempt = 1
    if current is not None:
        intent = stripe_client.retrieve_payment_intent(current.stripe_payment_intent_id)
        if intent.is_paid or intent.status == Payment.Status.PROCESSING:
            if not is_finished(current):
                return intent
        elif intent.is_open:
            same_currency = intent.currency == currency.upper()
            spent = intent.has_been_attempted or intent.status == Payment.Status.REQUIRES_ACTION
            if same_currency and not spent:
                if intent.amount != amount:
                    intent = stripe_client.update_payment_intent_amount(
                        intent.id, amount=amount, idempotency_key=f"shop-pi-{cart.pk}-{current.attempt}-amount-{amount}"
                    )
                return intent
            if same_currency and not new_card and intent.amount == amount:
                return intent  # its failure is reported; the next card replaces it
            intent = stripe_client.cancel_payment_intent(intent.id, idempotency_key=records.cancel_key(current))
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


def confirm_intent(intent: PaymentIntentInfo, card: str, *, customer: str | None = None) -> PaymentIntentInfo:
    """Confirm the intent with `card`; `customer` is the Stripe Customer a saved card
    belongs to (payments.customers.payer_for), which the intent must then name."""
    # A card typed in for this payment: the same request as before saved cards existed.
    saved = {"customer": customer} if customer else {}
    try:
        confirmed = stripe_client.confirm_payment_intent(
            intent.id, payment_method=card, idempotency_key=f"shop-pi-{intent.cart_id}-confirm-{intent.id}-{card}", **saved
        )
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
        if current.is_paid or current.status in PENDING_STATUSES:
            return current
        raise declines.payment_failed(current.error_code or exc.code or "payment_method_unusable") from None
    records.record_intent_state(confirmed)
    return confirmed


def _failed(intent: PaymentIntentInfo, code: str, message: str) -> PaymentIntentInfo:
    return PaymentIntentInfo(
        id=intent.id,
        amount=intent.amount,
        currency=intent.currency,
        status=Payment.Status.REQUIRES_PAYMENT_METHOD,
        capture_method=intent.capture_method,
        client_secret=intent.client_secret,
        cart_id=intent.cart_id,
        error_code=code,
        error_message=message,
        charge_id=intent.charge_id,
    )


# --- when checkout ends without payment -----------------------------------------------


def cancel_open_intents(cart_id: UUID, *, on_paid: Callable[[PaymentIntentInfo], Any]) -> int:
    """Cancel the open intents of a cart that is no longer in checkout, under the cart's
    payment lock (the caller holds it). Stripe being away leaves an intent open for the
    sweeper. An intent found paid instead (3-D Secure finished in the browser just
    before) is handed to `on_paid` at once: what that payment becomes is the caller's
    to decide. Returns how many intents were cancelled."""
    if Cart.objects.filter(pk=cart_id, status=Cart.Status.CHECKOUT).exists():
        return 0  # the shopper came back to checkout: the intent is theirs to use
    cancelled = 0
    for payment in list(Payment.objects.filter(cart_id=cart_id, status__in=CANCELLABLE_STATUSES)):
        try:
            intent = stripe_client.cancel_payment_intent(payment.stripe_payment_intent_id, idempotency_key=records.cancel_key(payment))
        except (PaymentProviderUnavailable, StripeRefused):
            log.warning("could not cancel %s of cart %s", payment.stripe_payment_intent_id, cart_id)
            continue
        records.record_intent_state(intent)
        if intent.status == Payment.Status.CANCELED:
            cancelled += 1
        elif intent.is_paid:
            on_paid(intent)
    return cancelled


def carts_with_intents_to_cancel(*, updated_before: Any, limit: int = 100) -> list[UUID]:
    """Carts that left checkout (cancelled, abandoned, merged) without paying and still
    have an open intent not touched since `updated_before`: the sweeper's work."""
    return list(
        Payment.objects.filter(
            status__in=CANCELLABLE_STATUSES,
            updated_at__lt=updated_before,
            cart__status__in=[Cart.Status.ACTIVE, Cart.Status.ABANDONED],
        )
        .values_list("cart_id", flat=True)
        .distinct()[:limit]
    )


# --- manual capture -------------------------------------------------------------------


def capture_order_payment(*, order_id: int) -> Order:
    """Capture the authorized payment of an order (STRIPE_CAPTURE_METHOD=manual)."""
    payment = Payment.objects.filter(order_id=order_id, status=Payment.Status.REQUIRES_CAPTURE).order_by("-attempt").first()
    if payment is None:
        raise InvalidInput("This order has no authorized payment to capture.", details={"order": ["Nothing to capture."]})
    try:
        intent = stripe_client.capture_payment_intent(payment.stripe_payment_intent_id, idempotency_key=f"shop-pi-capture-{payment.pk}")
    except StripeRefused as exc:
        raise InvalidInput(f"Stripe refused the capture: {exc}", details={"order": [str(exc)]}) from None
    records.record_intent_state(intent)
    order = Order.objects.get(pk=order_id)
    if intent.status == Payment.Status.SUCCEEDED:
        order_services.mark_captured(order=order)
    return order
