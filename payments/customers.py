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
- A card is saved with a SetupIntent that names the customer (setup_intent_for_saving),
  confirmed by Stripe.js in the browser; then save_card_from_setup checks that intent at
  Stripe and makes sure its card is attached to the customer (real Stripe attaches it
  when the intent succeeds, localstripe does not).
- Paying: payer_for says which customer a PaymentIntent confirmed with a given payment
  method must name, and refuses a card saved by anyone but the signed-in user. The
  browser's word is never taken for whose a card is: Stripe's is.

Nothing here logs card details (brand, last four digits, expiry).
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from functools import partial
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from cart import services as cart_services
from cart.models import Cart
from cart.selectors import parse_cart_id
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


def setup_intent_for_saving(*, user_id: int, cart_id: UUID | str) -> str:
    """The client secret of a SetupIntent that saves the card the shopper enters at the
    payment step to their customer (made now if need be), for a cart in live checkout.
    A new one per attempt, as for an unsaved card (payments.setup_intents)."""
    cart = Cart.objects.filter(pk=parse_cart_id(cart_id)).only("status", "reservation_expires_at").first()
    if cart is None:
        raise NotFound("That cart does not exist.")
    cart_services.require_live_checkout(cart, timezone.now())
    try:
        customer_id = ensure_customer(user_id=user_id)
        seti = stripe_client.create_setup_intent(
            idempotency_key=f"shop-si-{cart.pk}-{secrets.token_hex(8)}", customer_id=customer_id
        )
    except StripeRefused:
        # Parameter-free on our side but for ids Stripe gave us: keys or set-up are wrong.
        raise PaymentProviderUnavailable() from None
    return seti.client_secret


def save_card_from_setup(*, user_id: int, setup_intent_id: str) -> SavedCard:
    """After the browser confirmed a SetupIntent from setup_intent_for_saving: make sure
    its card is attached to the user's customer, and return it. The intent is read from
    Stripe: it must be this user's customer's and have succeeded. Anything else is
    NotFound (someone else's intent) or InvalidInput (not finished); a card its bank will
    not let be saved is PaymentFailed (402) with the words of a declined payment."""
    customer_id = customer_id_of(user_id=user_id)
    if customer_id is None or not isinstance(setup_intent_id, str) or not setup_intent_id.startswith("seti_"):
        raise NotFound("There is no such card set-up.")
    try:
        seti = stripe_client.retrieve_setup_intent(setup_intent_id)
    except StripeRefused:  # 404: no such intent (in this Stripe account)
        raise NotFound("There is no such card set-up.") from None
    if seti.customer_id != customer_id:
        raise NotFound("There is no such card set-up.")
    if seti.status != "succeeded" or not seti.payment_method_id:
        raise InvalidInput(
            "This card has not been confirmed yet.", details={"setup_intent": ["The card set-up has not succeeded."]}
        )
    try:
        card = stripe_client.retrieve_payment_method(seti.payment_method_id)
        if card.customer_id is None:
            # localstripe leaves the card of a customer's SetupIntent unattached.
            card = stripe_client.attach_payment_method(
                card.id, customer_id=customer_id, idempotency_key=f"shop-pm-attach-{customer_id}-{card.id}"
            )
    except CardDeclined as exc:  # some banks refuse to have a card saved
        raise declines.payment_failed(exc.code) from None
    except StripeRefused as exc:  # e.g. the customer was deleted in Stripe's dashboard
        log.warning("card of user %s not saved: Stripe refused (HTTP %s, %s)", user_id, exc.http_status, exc.code)
        raise InvalidInput(gettext(CARD_NOT_SAVED), details={"setup_intent": [gettext(CARD_NOT_SAVED)]}) from None
    if card.customer_id != customer_id:
        raise NotFound("There is no such card set-up.")
    _forget_older_copies(customer_id, card)
    return _saved(card)


def _forget_older_copies(customer_id: str, card: CardInfo) -> None:
    """The same card saved again (same number and expiry) replaces the copy saved before,
    so the list never offers one card twice. Best effort: a failure leaves the copy."""
    if not card.fingerprint:
        return
    try:
        for other in stripe_client.list_cards(customer_id):
            same = (other.fingerprint, other.exp_month, other.exp_year) == (card.fingerprint, card.exp_month, card.exp_year)
            if same and other.id != card.id:
                stripe_client.detach_payment_method(other.id, idempotency_key=f"shop-pm-detach-{customer_id}-{other.id}")
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
        stripe_client.detach_payment_method(card.id, idempotency_key=f"shop-pm-detach-{customer_id}-{card.id}")
    except StripeRefused:  # detached meanwhile (a second click on Remove)
        raise NotFound(gettext(NO_SUCH_CARD)) from None
    log.info("saved card removed by user %s", user_id)
    return _saved(card)


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
            stripe_client.detach_payment_method(card.id, idempotency_key=f"shop-pm-detach-{customer_id}-{card.id}")
        stripe_client.delete_customer(customer_id)
    except (PaymentProviderUnavailable, StripeRefused) as exc:
        log.error("stripe customer %s of a deleted account not erased (%s): delete it in Stripe's dashboard", customer_id, type(exc).__name__)
