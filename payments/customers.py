"""Saved cards: a Stripe Customer per user, and the cards attached to it.

- A user's Stripe Customer is made the first time they save a card (ensure_customer),
  never for a guest, and remembered in StripeCustomer. Its idempotency key names the
  user and the moment their account was made, so a retried request makes one customer,
  and two shops sharing a Stripe account (a test database reset, staging) never pick up
  each other's customer for a user with the same id.
- The saved cards are read from Stripe each time (saved_cards): Stripe is where a card is
  attached or detached (by this shop, by staff in Stripe's dashboard, or when a customer
  is deleted) and where a renewed card's expiry is updated, so a copy here could only
  drift from it, and would be one more copy of personal data to export and erase.
- A card is saved only while paying: a card typed in at the payment step with "Save
  this card for next time" ticked is saved by save_card_for_payment, the same Stripe.js
  card as an unsaved one (a PaymentMethod, or localstripe's token) attached to the
  customer before the PaymentIntent is made, so a card that needs 3-D Secure is checked
  once, by the payment (no SetupIntent).
- Paying: payer_for says which customer a PaymentIntent confirmed with a given payment
  method must name, and refuses a card saved by anyone but the signed-in user. The
  browser's word is never taken for whose a card is: Stripe's is.

Nothing here logs card details (brand, last four digits, expiry).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from payments import declines, stripe_client
from payments.models import StripeCustomer
from payments.stripe_client import CardDeclined, CardInfo, StripeRefused
from shop.errors import InvalidInput, NotFound, PaymentProviderUnavailable

log = logging.getLogger(__name__)

# Said when a payment names a card that is saved, but not by the signed-in shopper (or
# by no one the shop knows): the same words whoever asks, so they reveal nothing.
NOT_YOUR_CARD = gettext_noop("That saved card cannot be used for this payment. Choose one of your cards or enter a new one.")
NO_SUCH_CARD = gettext_noop("That card is not one of your saved cards.")
CARD_NOT_SAVED = gettext_noop("This card could not be saved. Nothing was charged; pay without saving it, or try again later.")
SIGN_IN_TO_SAVE = gettext_noop("Sign in to save a card. Nothing was charged; pay without saving it, or sign in first.")

# What the payment step sends for a new card to be saved: Stripe.js's PaymentMethod, or
# the token localstripe's Stripe.js makes instead (its createPaymentMethod is a stub).
_CARD_TO_SAVE = re.compile(r"^(pm|tok)_[A-Za-z0-9_]{1,250}$")

BRAND_NAMES = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


@dataclass(frozen=True)
class SavedCard:
    """A saved card as the shopper is shown it: "Visa •••• 4242, expires 12/34"."""

    payment_method_id: str
    brand: str  # Stripe's code: "visa", "mastercard", ...
    last4: str
    exp_month: int
    exp_year: int

    @property
    def brand_name(self) -> str:
        return BRAND_NAMES.get(self.brand, self.brand.replace("_", " ").title() or "Card")

    @property
    def expiry(self) -> str:
        """MM/YY."""
        return f"{self.exp_month:02d}/{self.exp_year % 100:02d}"

    @property
    def label(self) -> str:
        return f"{self.brand_name} ending in {self.last4}, expires {self.expiry}"

    def has_expired(self, today=None) -> bool:
        today = today or timezone.localdate()
        return (self.exp_year, self.exp_month) < (today.year, today.month)


def _saved(card: CardInfo) -> SavedCard:
    return SavedCard(card.id, card.brand, card.last4, card.exp_month, card.exp_year)


# --- selectors ----------------------------------------------------------------------------


def customer_id_of(*, user_id: int | None) -> str | None:
    """The user's Stripe Customer id, if they have one (no Stripe request)."""
    if user_id is None:
        return None
    return StripeCustomer.objects.filter(user_id=user_id).values_list("stripe_customer_id", flat=True).first()


def saved_cards(*, user_id: int | None) -> list[SavedCard]:
    """The user's saved cards, as Stripe has them now; none for a guest or a user who
    never saved one (then Stripe is not asked). PaymentProviderUnavailable when Stripe
    cannot be reached."""
    customer_id = customer_id_of(user_id=user_id)
    if customer_id is None:
        return []
    try:
        cards = stripe_client.list_cards(customer_id)
    except StripeRefused as exc:  # the customer was deleted at Stripe (by staff, say)
        log.warning("saved cards of user %s: Stripe refused the list (HTTP %s)", user_id, exc.http_status)
        return []
    return [_saved(card) for card in cards]


def payer_for(*, payment_method: str, user_id: int | None) -> str | None:
    """The Stripe Customer a PaymentIntent confirmed with `payment_method` must name:
    None for a card nobody saved (a card typed in for this payment), the signed-in
    user's customer for one of their saved cards. A card saved by anyone else is
    refused (InvalidInput, 400), for a guest too. An id Stripe does not know is
    InvalidInput as well; Stripe being away is PaymentProviderUnavailable."""
    try:
        card = stripe_client.retrieve_payment_method(payment_method)
    except StripeRefused:  # 404: no such payment method (in this Stripe account)
        raise InvalidInput(
            "That payment method does not exist.", details={"payment_method": ["Unknown payment method."]}
        ) from None
    if card.customer_id is None:
        return None
    own = customer_id_of(user_id=user_id)
    if own is not None and card.customer_id == own:
        return own
    log.warning("payment refused: a card saved by another customer was offered (user %s)", user_id or "guest")
    raise InvalidInput(gettext(NOT_YOUR_CARD), details={"payment_method": ["Not one of your saved cards."]})


# --- services -----------------------------------------------------------------------------


def _customer_key(user) -> str:
    joined = int(user.date_joined.timestamp() * 1_000_000)
    return f"shop-cus-{user.pk}-{joined}"


def ensure_customer(*, user_id: int) -> str:
    """The user's Stripe Customer id, made at Stripe and recorded the first time it is
    needed. Two requests at once both ask Stripe with the same idempotency key (one
    customer at Stripe) and the first to record it wins; the other uses the recorded one."""
    existing = customer_id_of(user_id=user_id)
    if existing is not None:
        return existing
    user = get_user_model().objects.only("pk", "date_joined").get(pk=user_id)
    customer_id = stripe_client.create_customer(user_id=user.pk, idempotency_key=_customer_key(user))
    try:
        with transaction.atomic():
            StripeCustomer.objects.create(user_id=user.pk, stripe_customer_id=customer_id)
    except IntegrityError:
        recorded = customer_id_of(user_id=user.pk)
        if recorded is None:
            raise
        return recorded
    log.info("stripe customer made for user %s", user.pk)
    return customer_id


def card_to_save(*, payment_method: Any, user_id: int | None) -> str:
    """The new card a payment is asked to save, checked before anything is asked of
    Stripe: only a signed-in user's card is saved (InvalidInput for a guest), and it
    must be a Stripe.js PaymentMethod (`pm_`) or token (`tok_`)."""
    if user_id is None:
        raise InvalidInput(gettext(SIGN_IN_TO_SAVE), details={"save_card": ["Only a signed-in customer's card is saved."]})
    if not isinstance(payment_method, str) or not _CARD_TO_SAVE.match(payment_method.strip()):
        raise InvalidInput(
            "The payment method is not valid.",
            details={"payment_method": ["To save a card, send a new card's PaymentMethod id (pm_...) or token (tok_...)."]},
        )
    return payment_method.strip()


def save_card_for_payment(*, user_id: int, card: str) -> SavedCard:
    """Save the new card a signed-in shopper is paying with ("Save this card for next
    time") to their customer (made now if need be), before the PaymentIntent is made:
    the payment then names the customer, and its 3-D Secure check, if the card needs
    one, is the only one. `card` is from card_to_save. A card saved earlier replaces
    nothing but its own older copies (_forget_older_copies).

    A card its bank refuses to save is PaymentFailed (402, the words of a declined
    payment): nothing was charged. A card that is already someone else's is refused
    like any saved card that is not the shopper's; Stripe refusing otherwise (the
    customer deleted in Stripe's dashboard, a used-up token) is InvalidInput with
    CARD_NOT_SAVED."""
    customer_id = ensure_customer(user_id=user_id)
    try:
        if card.startswith("tok_"):
            saved = stripe_client.save_card_token(card, customer_id=customer_id, idempotency_key=f"shop-card-save-{customer_id}-{card}")
        else:
            saved = stripe_client.retrieve_payment_method(card)
            if saved.customer_id is not None and saved.customer_id != customer_id:
                log.warning("card not saved: it is already another customer's (user %s)", user_id)
                raise InvalidInput(gettext(NOT_YOUR_CARD), details={"payment_method": ["Not one of your saved cards."]})
            if saved.customer_id is None:
                saved = stripe_client.attach_payment_method(
                    card, customer_id=customer_id, idempotency_key=f"shop-pm-attach-{customer_id}-{card}"
                )
    except CardDeclined as exc:  # its bank refused to have it saved
        raise declines.payment_failed(exc.code) from None
    except StripeRefused as exc:
        log.warning("card of user %s not saved: Stripe refused (HTTP %s, %s)", user_id, exc.http_status, exc.code)
        raise InvalidInput(gettext(CARD_NOT_SAVED), details={"payment_method": [gettext(CARD_NOT_SAVED)]}) from None
    _forget_older_copies(customer_id, saved)
    log.info("card saved for user %s while paying", user_id)
    return _saved(saved)


def _detach(customer_id: str, payment_method_id: str) -> CardInfo:
    """Take one of the customer's saved cards off it at Stripe (one idempotency key per
    customer and card, whichever path detaches it)."""
    return stripe_client.detach_payment_method(
        payment_method_id, idempotency_key=f"shop-pm-detach-{customer_id}-{payment_method_id}", customer_id=customer_id
    )


def _forget_older_copies(customer_id: str, card: CardInfo) -> None:
    """The same card saved again (same number and expiry) replaces the copy saved before,
    so the list never offers one card twice. Best effort: a failure leaves the copy."""
    if not card.fingerprint:
        return
    try:
        for other in stripe_client.list_cards(customer_id):
            same = (other.fingerprint, other.exp_month, other.exp_year) == (card.fingerprint, card.exp_month, card.exp_year)
            if same and other.id != card.id:
                _detach(customer_id, other.id)
    except (PaymentProviderUnavailable, StripeRefused):
        log.warning("older copies of a card saved again by customer %s not removed", customer_id)


def remove_card(*, user_id: int, payment_method_id: str) -> SavedCard:
    """Detach one of the user's saved cards at Stripe. A card that is not theirs (or that
    Stripe does not know) is NotFound, and nothing is asked of Stripe beyond reading it."""
    customer_id = customer_id_of(user_id=user_id)
    if customer_id is None or not payment_method_id.startswith(("pm_", "card_", "src_")):
        raise NotFound(gettext(NO_SUCH_CARD))
    try:
        card = stripe_client.retrieve_payment_method(payment_method_id)
    except StripeRefused:  # 404: no such payment method
        raise NotFound(gettext(NO_SUCH_CARD)) from None
    if card.customer_id != customer_id:
        raise NotFound(gettext(NO_SUCH_CARD))
    try:
        _detach(customer_id, card.id)
    except StripeRefused:  # detached meanwhile (a second click on Remove)
        raise NotFound(gettext(NO_SUCH_CARD)) from None
    log.info("saved card removed by user %s", user_id)
    return _saved(card)


def unsave_declined_card(*, user_id: int, payment_method_id: str) -> bool:
    """A card saved for a payment ("Save this card for next time") that its bank then
    declined is detached again: a saved card is one that has paid. Stripe being away
    or the card already gone leaves it as it is (the shopper can remove it on the
    saved-cards page) and is logged. True if it was detached."""
    try:
        remove_card(user_id=user_id, payment_method_id=payment_method_id)
    except (NotFound, PaymentProviderUnavailable, StripeRefused):
        log.warning("a declined card saved by user %s could not be detached again", user_id)
        return False
    return True


def forget_customer(*, user_id: int) -> bool:
    """For deleting an account, inside its transaction: forget the user's Stripe Customer
    now and, once the transaction commits, detach their saved cards and delete the
    customer at Stripe (erase_customer_at_stripe). True if they had one."""
    customer_id = customer_id_of(user_id=user_id)
    if customer_id is None:
        return False
    StripeCustomer.objects.filter(user_id=user_id).delete()
    transaction.on_commit(partial(erase_customer_at_stripe, customer_id))
    return True


def erase_customer_at_stripe(customer_id: str) -> None:
    """Detach a forgotten customer's cards, then delete it. Detached one by one first:
    localstripe keeps a deleted customer's cards attached (real Stripe detaches them).
    Stripe being away is logged, never raised: the account is gone either way, and a
    customer no user maps to can pay for nothing here."""
    try:
        for card in stripe_client.list_cards(customer_id):
            _detach(customer_id, card.id)
        stripe_client.delete_customer(customer_id)
    except (PaymentProviderUnavailable, StripeRefused) as exc:
        log.error("stripe customer %s of a deleted account not erased (%s): delete it in Stripe's dashboard", customer_id, type(exc).__name__)
