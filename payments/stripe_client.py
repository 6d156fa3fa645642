"""The one place that talks to Stripe, through the official SDK.

Settings: STRIPE_SECRET_KEY, STRIPE_API_BASE (points the SDK at an emulator such as
localstripe), STRIPE_MAX_NETWORK_RETRIES, STRIPE_TIMEOUT_SECONDS (per attempt). Inside a
web request all calls together also keep to the request's budget
(OUTSIDE_CALLS_DEADLINE_SECONDS, shop.deadline), so a Stripe that does not answer costs
a shopper at most that long, not timeout x attempts x calls. Every call returns
plain dataclasses, so the rest of the shop never handles SDK objects, and every failure
is one of three kinds:

- CardDeclined: the card or its 3-D Secure check was refused (a shopper problem);
- PaymentProviderUnavailable: Stripe could not be reached, timed out, or failed on its
  side (nothing was charged by this call; try again later);
- StripeRefused: Stripe understood and refused the request (wrong state, bad id).

Every request that changes something at Stripe carries an idempotency key, which the
caller derives from the shop's own ids (a cart, a payment attempt, a refund), so a
request repeated after a lost answer is carried out once.

Nothing here logs keys, client secrets or card data.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import stripe
from django.conf import settings

from payments.models import OPEN_STATUSES, PAID_STATUSES
from shop import deadline
from shop.errors import PaymentProviderUnavailable

log = logging.getLogger(__name__)



class CardDeclined(Exception):
    """The card was declined or failed authentication. `code` is Stripe's decline code
    (e.g. insufficient_funds) or error code (card_declined), `stripe_message` Stripe's
    own sentence, which is for logs, not shoppers."""

    def __init__(self, code: str, stripe_message: str, payment_intent_id: str | None = None):
        self.code = code
        self.stripe_message = stripe_message
        self.payment_intent_id = payment_intent_id
        super().__init__(f"{code}: {stripe_message}")


class StripeRefused(Exception):
    """Stripe refused the request (HTTP 4xx other than a card decline)."""

    def __init__(self, message: str, *, http_status: int | None = None, code: str | None = None):
        self.http_status = http_status
        self.code = code
        super().__init__(message)


class InvalidWebhook(Exception):
    """A webhook whose signature, timestamp or body does not check out."""


@dataclass(frozen=True)
class PaymentIntentInfo:
    id: str
    amount: int  # minor units, Stripe's rules
    currency: str  # upper-case ISO code
    status: str
    capture_method: str
    client_secret: str
    cart_id: str | None  # from metadata
    error_code: str | None  # of the last failed attempt
    error_message: str | None
    charge_id: str | None

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def has_been_attempted(self) -> bool:
        """Confirmed at least once (a charge exists or an attempt failed): such an intent
        is replaced rather than confirmed again with a new card (see payments.services)."""
        return bool(self.charge_id or self.error_code)


@dataclass(frozen=True)
class RefundInfo:
    id: str
    amount: int
    currency: str
    status: str


@dataclass(frozen=True)
class CardInfo:
    """A card PaymentMethod as Stripe describes it: never the number, only what a shopper
    is shown to recognise it (brand, last four digits, expiry) and whose it is."""

    id: str
    customer_id: str | None  # the Stripe Customer it is attached to (saved), if any
    brand: str  # "visa", "mastercard", ... ("" for a payment method that is not a card)
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str = ""  # the same for every PaymentMethod of one card number


def _field(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, Mapping) else default


def intent_from(obj: Any) -> PaymentIntentInfo:
    """A PaymentIntentInfo from an SDK PaymentIntent or a webhook's `data.object` dict."""
    if not isinstance(obj, Mapping):
        obj = obj.to_dict()  # SDK objects are not dicts since stripe-python 15
    error = _field(obj, "last_payment_error")
    charge = _field(obj, "latest_charge")
    # Real Stripe sends the charge id; localstripe embeds the charge object.
    charge_id = charge if isinstance(charge, str) else _field(charge, "id")
    metadata = _field(obj, "metadata") or {}
    return PaymentIntentInfo(
        id=str(_field(obj, "id")),
        amount=int(_field(obj, "amount")),  # localstripe returns a string after an update
        currency=str(_field(obj, "currency")).upper(),
        status=str(_field(obj, "status")),
        capture_method=str(_field(obj, "capture_method") or "automatic"),
        client_secret=str(_field(obj, "client_secret") or ""),
        cart_id=_field(metadata, "cart_id"),
        error_code=(_field(error, "decline_code") or _field(error, "code")) if error else None,
        error_message=_field(error, "message") if error else None,
        charge_id=charge_id,
    )


class DeadlineRequestsClient(stripe.RequestsClient):
    """The SDK's HTTP client, held to the request's budget (shop.deadline): each attempt's
    timeout is STRIPE_TIMEOUT_SECONDS or what is left of the budget if less, the pause
    before a retry never outlasts it, and once it is spent no attempt is made (the SDK
    then raises APIConnectionError, answered as 502 payment_provider_unavailable)."""

    # Below this, an attempt could not get an answer anyway.
    MIN_ATTEMPT_SECONDS = 0.2

    @property
    def _timeout(self) -> float:  # read by RequestsClient for every attempt
        left = deadline.remaining()
        return self._per_attempt_timeout if left is None else max(min(self._per_attempt_timeout, left), 0.0)

    @_timeout.setter
    def _timeout(self, value: float) -> None:
        self._per_attempt_timeout = float(value)

    def request(self, method, url, headers, post_data=None):  # type: ignore[override]
        self._check_budget()
        return super().request(method, url, headers, post_data)

    def request_stream(self, method, url, headers, post_data=None):  # type: ignore[override]
        self._check_budget()
        return super().request_stream(method, url, headers, post_data)

    def _sleep_time_seconds(self, num_retries: int) -> float:
        pause = super()._sleep_time_seconds(num_retries)
        left = deadline.remaining()
        return pause if left is None else max(min(pause, left), 0.0)

    def _check_budget(self) -> None:
        left = deadline.remaining()
        if left is not None and left < self.MIN_ATTEMPT_SECONDS:
            raise stripe.APIConnectionError("The request's time budget for Stripe is spent.", should_retry=False)


@lru_cache(maxsize=8)
def _client_for(api_key: str, api_base: str, retries: int, timeout: float) -> stripe.StripeClient:
    base_addresses = {"api": api_base} if api_base else None
    return stripe.StripeClient(
        api_key,
        base_addresses=base_addresses,
        max_network_retries=retries,
        http_client=DeadlineRequestsClient(timeout=timeout),
    )


def client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise PaymentProviderUnavailable("Payments are not configured (no Stripe key).")
    return _client_for(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_MAX_NETWORK_RETRIES,
        settings.STRIPE_TIMEOUT_SECONDS,
    )


T = TypeVar("T")


def _call(what: str, request: Callable[[], T], *, payment_intent_id: str | None = None) -> T:
    """Run one SDK request and turn its failures into the three kinds above."""
    try:
        return request()
    except stripe.CardError as exc:
        error = exc.error
        code = (getattr(error, "decline_code", None) if error else None) or exc.code or "card_declined"
        log.info("stripe %s: card declined (%s) for %s", what, code, payment_intent_id or "-")
        raise CardDeclined(code, exc.user_message or str(exc), payment_intent_id) from None
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.AuthenticationError, stripe.PermissionError) as exc:
        log.warning("stripe %s: unavailable (%s)", what, type(exc).__name__)
        raise PaymentProviderUnavailable() from None
    except stripe.InvalidRequestError as exc:
        log.warning("stripe %s refused (HTTP %s, %s) for %s", what, exc.http_status, exc.code, payment_intent_id or "-")
        raise StripeRefused(exc.user_message or str(exc), http_status=exc.http_status, code=exc.code) from None
    except stripe.StripeError as exc:  # APIError: 5xx on Stripe's side, or an unreadable answer
        log.warning("stripe %s failed (HTTP %s, %s)", what, exc.http_status, type(exc).__name__)
        raise PaymentProviderUnavailable() from None


def create_payment_intent(
    *, amount: int, currency: str, cart_id: str, idempotency_key: str, capture_method: str
) -> PaymentIntentInfo:
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency.lower(),
        "payment_method_types": ["card"],
        "capture_method": capture_method,
        "metadata": {"cart_id": cart_id},
    }
    pi = _call(
        "create payment intent",
        lambda: client().v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key}),
    )
    return intent_from(pi)


def retrieve_payment_intent(payment_intent_id: str) -> PaymentIntentInfo:
    pi = _call(
        "retrieve payment intent",
        lambda: client().v1.payment_intents.retrieve(payment_intent_id),
        payment_intent_id=payment_intent_id,
    )
    return intent_from(pi)


def update_payment_intent_amount(payment_intent_id: str, *, amount: int, idempotency_key: str) -> PaymentIntentInfo:
    pi = _call(
        "update payment intent",
        lambda: client().v1.payment_intents.update(
            payment_intent_id, params={"amount": amount}, options={"idempotency_key": idempotency_key}
        ),
        payment_intent_id=payment_intent_id,
    )
    return intent_from(pi)


def confirm_payment_intent(
    payment_intent_id: str, *, payment_method: str, idempotency_key: str, customer: str | None = None
) -> PaymentIntentInfo:
    """Attach the payment method, then confirm (server-side confirmation).

    Two requests rather than `confirm(payment_method=...)`: localstripe implements only
    this form, and real Stripe accepts both. A declined card raises CardDeclined.
    `customer`: the Stripe Customer a saved card belongs to; Stripe refuses to charge a
    card attached to a customer with an intent that does not name that customer.
    """
    params: dict[str, Any] = {"payment_method": payment_method}
    attach_key = f"{idempotency_key}-attach"
    if customer:
        params["customer"] = customer
        attach_key = f"{attach_key}-{customer}"
    _call(
        "attach payment method",
        lambda: client().v1.payment_intents.update(
            payment_intent_id, params=params, options={"idempotency_key": attach_key}
        ),
        payment_intent_id=payment_intent_id,
    )
    pi = _call(
        "confirm payment intent",
        lambda: client().v1.payment_intents.confirm(payment_intent_id, options={"idempotency_key": idempotency_key}),
        payment_intent_id=payment_intent_id,
    )
    return intent_from(pi)


def cancel_payment_intent(payment_intent_id: str, *, idempotency_key: str) -> PaymentIntentInfo:
    """Cancel an open intent. One that can no longer be cancelled (already paid or
    cancelled) is returned as it is, so the caller decides from its status."""
    try:
        pi = _call(
            "cancel payment intent",
            lambda: client().v1.payment_intents.cancel(payment_intent_id, options={"idempotency_key": idempotency_key}),
            payment_intent_id=payment_intent_id,
        )
    except StripeRefused:
        return retrieve_payment_intent(payment_intent_id)
    return intent_from(pi)


def capture_payment_intent(payment_intent_id: str, *, idempotency_key: str) -> PaymentIntentInfo:
    pi = _call(
        "capture payment intent",
        lambda: client().v1.payment_intents.capture(payment_intent_id, options={"idempotency_key": idempotency_key}),
        payment_intent_id=payment_intent_id,
    )
    return intent_from(pi)


def create_refund(*, payment_intent_id: str, amount: int, idempotency_key: str, metadata: Mapping[str, str]) -> RefundInfo:
    refund = _call(
        "create refund",
        lambda: client().v1.refunds.create(
            params={"payment_intent": payment_intent_id, "amount": amount, "metadata": dict(metadata)},
            options={"idempotency_key": idempotency_key},
        ),
        payment_intent_id=payment_intent_id,
    )
    return RefundInfo(
        id=refund.id, amount=int(refund.amount), currency=str(refund.currency).upper(), status=str(refund.status)
    )


# --- customers and their saved cards ------------------------------------------------------


# A legacy card's `brand` ("Visa", "American Express") as a PaymentMethod's ("visa", "amex").
_LEGACY_BRANDS = {"american express": "amex", "diners club": "diners", "mastercard": "mastercard", "unionpay": "unionpay"}


def card_from(obj: Any) -> CardInfo:
    """A CardInfo from an SDK PaymentMethod (or its dict), or from a card saved from a
    Stripe.js token (a legacy Card, `card_...`: its details at the top level)."""
    if not isinstance(obj, Mapping):
        obj = obj.to_dict()
    customer = _field(obj, "customer")
    if _field(obj, "object") == "card":
        brand = str(_field(obj, "brand") or "").lower()
        obj = {**obj, "card": {**obj, "brand": _LEGACY_BRANDS.get(brand, brand.replace(" ", "_"))}}
    card = _field(obj, "card") or {}
    return CardInfo(
        id=str(_field(obj, "id")),
        customer_id=customer if isinstance(customer, str) else _field(customer, "id"),
        brand=str(_field(card, "brand") or ""),
        last4=str(_field(card, "last4") or ""),
        exp_month=int(_field(card, "exp_month") or 0),
        exp_year=int(_field(card, "exp_year") or 0),
        fingerprint=str(_field(card, "fingerprint") or ""),
    )


def create_customer(*, user_id: int, idempotency_key: str) -> str:
    """A Stripe Customer for one of the shop's users; its id. Only the user's id goes to
    Stripe (as metadata): no name or email to keep in step or to erase later."""
    customer = _call(
        "create customer",
        lambda: client().v1.customers.create(
            params={"metadata": {"user_id": str(user_id)}}, options={"idempotency_key": idempotency_key}
        ),
    )
    return str(customer.id)


def delete_customer(customer_id: str) -> None:
    """Delete a customer at Stripe (real Stripe detaches its cards with it). DELETE is
    idempotent by definition, so Stripe takes no idempotency key for it; one already gone
    (404) counts as deleted."""
    try:
        _call("delete customer", lambda: client().v1.customers.delete(customer_id))
    except StripeRefused as exc:
        if exc.http_status != 404:
            raise


def retrieve_payment_method(payment_method_id: str) -> CardInfo:
    """StripeRefused with http_status 404 for an id Stripe does not know."""
    pm = _call("retrieve payment method", lambda: client().v1.payment_methods.retrieve(payment_method_id))
    return card_from(pm)


def attach_payment_method(payment_method_id: str, *, customer_id: str, idempotency_key: str) -> CardInfo:
    """Save a card: attach it to the customer. A card its bank refuses to save raises
    CardDeclined."""
    pm = _call(
        "attach payment method to customer",
        lambda: client().v1.payment_methods.attach(
            payment_method_id, params={"customer": customer_id}, options={"idempotency_key": idempotency_key}
        ),
    )
    return card_from(pm)


def save_card_token(token_id: str, *, customer_id: str, idempotency_key: str) -> CardInfo:
    """Save the card of a Stripe.js token (`tok_...`, from stripe.createToken) to the
    customer, as a card of theirs (`card_...`), which then pays like a PaymentMethod.
    The token's card is checked by its bank as it is saved: one its bank refuses to save
    raises CardDeclined. A token is used up by this."""
    card = _call(
        "save card token to customer",
        lambda: client().v1.customers.payment_sources.create(
            customer_id, params={"source": token_id}, options={"idempotency_key": idempotency_key}
        ),
    )
    return card_from(card)


def detach_payment_method(payment_method_id: str, *, idempotency_key: str, customer_id: str | None = None) -> CardInfo:
    """Forget a saved card: detached, it can never be used again (Stripe's rule). A card
    saved from a token (`card_...`) is removed from its customer (`customer_id`) instead:
    localstripe detaches only `pm_` PaymentMethods. DELETE needs no idempotency key."""
    if payment_method_id.startswith("card_") and customer_id:
        removed = _call(
            "remove card from customer",
            lambda: client().v1.customers.payment_sources.delete(customer_id, payment_method_id),
        )
        gone = removed.to_dict()  # localstripe answers with the customer, Stripe with the card
        if _field(gone, "object") == "card":
            return card_from(gone)
        return CardInfo(id=payment_method_id, customer_id=None, brand="", last4="", exp_month=0, exp_year=0)
    pm = _call(
        "detach payment method",
        lambda: client().v1.payment_methods.detach(payment_method_id, options={"idempotency_key": idempotency_key}),
    )
    return card_from(pm)


# Far more than anyone saves; the list is not paged further.
SAVED_CARDS_LIMIT = 20


def list_cards(customer_id: str) -> list[CardInfo]:
    """The card PaymentMethods attached to a customer, then the cards saved to it from a
    token (save_card_token) that are not among them. `GET /v1/payment_methods` with
    `customer` and `type`: localstripe needs `type`, and does not emulate
    `GET /v1/customers/{id}/payment_methods`."""
    page = _call(
        "list payment methods",
        lambda: client().v1.payment_methods.list(
            params={"customer": customer_id, "type": "card", "limit": SAVED_CARDS_LIMIT}
        ),
    )
    cards = [card_from(pm) for pm in page.data]
    # Cards saved from a token (save_card_token) are the customer's sources: real Stripe
    # lists them among the PaymentMethods too, localstripe only here.
    sources = _call(
        "list customer cards",
        # No `limit`: localstripe refuses it (Stripe's default page is 10 cards).
        lambda: client().v1.customers.payment_sources.list(customer_id, params={"object": "card"}),
    )
    listed = {card.id for card in cards}
    cards += [card_from(source) for source in sources.data if source.id not in listed]
    return cards[:SAVED_CARDS_LIMIT]


def verify_webhook(payload: bytes, signature_header: str | None) -> dict[str, Any]:
    """The event of a webhook whose Stripe-Signature checks out against
    STRIPE_WEBHOOK_SECRET on the raw body (300 s tolerance); else InvalidWebhook."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        log.error("webhook refused: STRIPE_WEBHOOK_SECRET is not set")
        raise InvalidWebhook("Webhooks are not configured.")
    if not signature_header:
        raise InvalidWebhook("Missing Stripe-Signature header.")
    try:
        stripe.Webhook.construct_event(payload, signature_header, secret)
        event = json.loads(payload)
    except stripe.SignatureVerificationError:
        raise InvalidWebhook("Bad signature.") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidWebhook("The body is not JSON.") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise InvalidWebhook("Not a Stripe event.")
    return event
