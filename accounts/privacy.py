"""A customer's personal data: everything the shop holds about them as one JSON document
(`export_data`), and leaving (`delete_account`): the account is deleted, and what the shop
must keep (orders, for the books, the tax records and the stock ledger) is anonymised.

Whose data is it? The account's own rows (the user, allauth's email records, saved
addresses and cards), the orders linked to the account, the guest orders placed with one
of its *verified* addresses and not linked to another account (an unverified address
proves nothing, so it never reaches anybody's orders), and the carts of both.

Deleting an account, in one transaction:
- refused for a staff account, while an order is still to be sent (its address is needed
  to deliver it; cancel it or wait until it has shipped), and while a checkout is open;
- carts: email, addresses and user cleared, open ones abandoned (cart.services);
- orders: email `deleted-<id>@anonymised.invalid`, addresses cut to country and region
  (what tax records need), user link and guest-link token gone (orders.services); every
  amount, line, tax, discount, refund, parcel, event and ledger row stays as it was;
- saved addresses and cards deleted, allauth's email records deleted, the admin log's
  names for the user replaced by "customer #<id>", and the user deleted. Deleted, not
  deactivated: its row holds the email, the username allauth made of it, the names and the
  password hash, and every row that refers to a user (orders, carts, the ledger's actor,
  events, refunds) lets go of it (SET_NULL), so nothing left can lead back to the person,
  and the address is free for a new account;
- after the commit, the saved cards are detached at Stripe: a failure there is logged
  (no card data) and never undoes the anonymisation.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from allauth.account.models import EmailAddress
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop, ngettext

from accounts.selectors import saved_language, verified_emails
from addresses import selectors as address_selectors
from addresses import services as address_services
from cart import services as cart_services
from cart.models import Cart
from discounts import services as discounts
from orders import services as orders_services
from orders.api import order_json
from orders.models import Order
from orders.status import NOT_YET_SHIPPED
from payments import customers as payment_customers
from shop.errors import CartNotActive, NotFound, PaymentProviderUnavailable, ShopError

log = logging.getLogger(__name__)

EXPORT_FORMAT_VERSION = 1
# Orders still to be sent: their address is needed to deliver them.
ORDERS_TO_SEND = NOT_YET_SHIPPED | {Order.Status.PARTIALLY_SHIPPED}


class AccountNotDeletable(ShopError):
    code = "account_not_deletable"
    status = 409
    default_message = gettext_lazy("This account cannot be deleted now.")


# --- whose data ------------------------------------------------------------------------


def person_order_ids(*, user_id: int, emails: list[str] | None = None) -> list[int]:
    """The orders of the account: linked to it, or placed as a guest with one of its
    verified addresses (`emails`, read from allauth when not given) and linked to nobody."""
    emails = verified_emails(user_id=user_id) if emails is None else emails
    guest = Q()
    for email in emails:
        guest |= Q(email__iexact=email)
    condition = Q(user_id=user_id) | (Q(user__isnull=True) & guest) if emails else Q(user_id=user_id)
    return list(Order.objects.filter(condition).order_by("created_at", "id").values_list("pk", flat=True))


def person_cart_ids(*, user_id: int, order_ids: list[int]) -> list[UUID]:
    """The account's carts, and the carts its orders were bought with."""
    order_carts = Order.objects.filter(pk__in=order_ids).values("cart_id")
    return list(Cart.objects.filter(Q(user_id=user_id) | Q(pk__in=order_carts)).order_by("created_at").values_list("pk", flat=True))


# --- the export ------------------------------------------------------------------------


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _profile(user: AbstractBaseUser) -> dict[str, Any]:
    return {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "username": user.get_username(),
        "date_joined": _when(user.date_joined),
        "last_login": _when(user.last_login),
        "language": saved_language(user_id=user.pk),
        "email_addresses": [
            {"email": address.email, "verified": address.verified, "primary": address.primary}
            for address in EmailAddress.objects.filter(user_id=user.pk).order_by("-primary", "id")
        ],
    }


def _orders(order_ids: list[int]) -> list[dict[str, Any]]:
    orders = (
        Order.objects.filter(pk__in=order_ids)
        .prefetch_related("lines", "events", "refund_notes", "shipments__lines__order_line")
        .order_by("created_at", "id")
    )
    return [order_json(order) for order in orders]


def _carts(cart_ids: list[UUID]) -> list[dict[str, Any]]:
    carts = Cart.objects.filter(pk__in=cart_ids).prefetch_related("lines__variant__product").order_by("created_at")
    return [
        {
            "id": str(cart.pk),
            "status": cart.status,
            "currency": cart.currency,
            "created_at": _when(cart.created_at),
            "updated_at": _when(cart.updated_at),
            "email": cart.email or None,
            "shipping_address": cart.shipping_address,
            "billing_address": cart.billing_address,
            "shipping_method": cart.shipping_method or None,
            "discount_code": cart.discount_code or None,
            "lines": [
                {"sku": line.variant.sku, "name": line.variant.product.name, "quantity": line.quantity}
                for line in cart.lines.all()
            ],
        }
        for cart in carts
    ]


def _saved_cards(user_id: int) -> list[dict[str, Any]] | None:
    """Brand, last 4 and expiry of the saved cards, as Stripe has them now; None when
    Stripe cannot be reached (the document says so)."""
    try:
        cards = payment_customers.saved_cards(user_id=user_id)
    except PaymentProviderUnavailable:
        return None
    return [{"brand": card.brand_name, "last4": card.last4, "exp_month": card.exp_month, "exp_year": card.exp_year} for card in cards]


def export_data(*, user_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Everything the shop holds about the account, as one JSON-ready document: profile,
    email addresses, orders (as the API shows them, addresses as stored), saved addresses,
    saved cards (brand, last 4, expiry) and carts with their lines. Nobody else's data."""
    user = _user(user_id)
    emails = verified_emails(user_id=user_id)
    order_ids = person_order_ids(user_id=user_id, emails=emails)
    cards = _saved_cards(user_id)
    data = {
        "format": EXPORT_FORMAT_VERSION,
        "exported_at": (now or timezone.now()).isoformat(),
        "profile": _profile(user),
        "orders": _orders(order_ids),
        "saved_addresses": address_selectors.export_addresses(user_id=user_id),
        "saved_cards": cards if cards is not None else [],
        "carts": _carts(person_cart_ids(user_id=user_id, order_ids=order_ids)),
    }
    if cards is None:
        data["notes"] = [gettext("Your saved cards could not be read from our payment provider just now; download again later to include them.")]
    return data


def export_filename(*, prefix: str, now: datetime | None = None) -> str:
    """"<prefix>-2026-05-04.json": the download's file name."""
    return f"{prefix}-{(now or timezone.now()):%Y-%m-%d}.json"


# --- leaving ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountDeleted:
    user_id: int
    orders_anonymised: int
    carts_forgotten: int
    addresses_deleted: int
    saved_cards: bool  # a Stripe customer with saved cards was there: detached after commit


def _user(user_id: int, *, lock: bool = False) -> AbstractBaseUser:
    users = get_user_model().objects
    if lock:
        # FOR NO KEY UPDATE: a checkout inserting an order that refers to the user takes
        # a key-share lock on this row while it holds its cart's lock; a full FOR UPDATE
        # here, before our cart locks, could deadlock with it.
        users = users.select_for_update(no_key=True)
    try:
        return users.get(pk=user_id)
    except get_user_model().DoesNotExist:
        raise NotFound("That account does not exist.") from None


def deletion_problem(*, user_id: int, by_staff: bool = False) -> str | None:
    """Why the account cannot be deleted now, or None: a sentence for its owner, or for
    the staff member acting for them (`by_staff`)."""
    user = _user(user_id)
    if user.is_staff or user.is_superuser:
        return "This is a staff account: close it on the Users page." if by_staff else gettext("Staff accounts are closed by an administrator, not here.")
    numbers = list(
        Order.objects.filter(pk__in=person_order_ids(user_id=user_id), status__in=ORDERS_TO_SEND)
        .order_by("created_at")
        .values_list("number", flat=True)
    )
    if numbers and not by_staff:
        # The owner's sentence, in their language.
        return ngettext(
            "Order %(numbers)s is still to be sent, and we need the address to deliver it. You can delete your account "
            "once it has shipped, or ask us to cancel it.",
            "Orders %(numbers)s are still to be sent, and we need the address to deliver them. You can delete your account "
            "once they have shipped, or ask us to cancel them.",
            len(numbers),
        ) % {"numbers": ", ".join(numbers)}
    if numbers:
        several = len(numbers) > 1
        which = f"Order{'s' if several else ''} {', '.join(numbers)} {'are' if several else 'is'} still to be sent"
        if by_staff:
            return f"{which}, and {'their addresses are' if several else 'its address is'} needed to deliver {'them' if several else 'it'}: ship or cancel {'them' if several else 'it'} first."
        return (
            f"{which}, and we need the address to deliver {'them' if several else 'it'}. You can delete your account once "
            f"{'they have' if several else 'it has'} shipped, or ask us to cancel {'them' if several else 'it'}."
        )
    if _checkout_open(user_id):
        return CHECKOUT_OPEN_STAFF if by_staff else gettext(CHECKOUT_OPEN)
    return None


CHECKOUT_OPEN = gettext_noop("You are in the middle of a checkout. Finish or cancel it first, then delete your account.")
CHECKOUT_OPEN_STAFF = "The customer is in the middle of a checkout: try again once it has ended (paid, cancelled or expired)."


def _checkout_open(user_id: int) -> bool:
    return Cart.objects.filter(user_id=user_id, status=Cart.Status.CHECKOUT).exists()


def delete_account(*, user_id: int, actor_id: int | None = None) -> AccountDeleted:
    """Delete the account and anonymise what must be kept (see the module docstring).
    AccountNotDeletable with a sentence when it cannot be done now; then nothing changes.
    `actor_id`: the staff member acting on a request received by email (None: the
    customer themselves)."""
    by_staff = actor_id is not None
    with transaction.atomic():
        user = _user(user_id, lock=True)
        problem = deletion_problem(user_id=user_id, by_staff=by_staff)
        if problem:
            raise AccountNotDeletable(problem)
        order_ids = person_order_ids(user_id=user_id)
        try:
            carts = cart_services.forget_carts(cart_ids=person_cart_ids(user_id=user_id, order_ids=order_ids))
        except CartNotActive:  # a checkout began since the check above
            raise AccountNotDeletable(CHECKOUT_OPEN_STAFF if by_staff else gettext(CHECKOUT_OPEN)) from None
        orders = orders_services.anonymise_orders(order_ids=order_ids)
        discounts.anonymise_uses(emails_by_order={pk: orders_services.anonymised_email(pk) for pk in order_ids})
        addresses = address_services.delete_address_book(user_id=user_id)
        cards = payment_customers.forget_customer(user_id=user_id)  # Stripe after the commit
        EmailAddress.objects.filter(user_id=user_id).delete()
        _scrub_admin_log(user_id)
        user.delete()
    log.info(
        "account %s deleted (%s): %d order(s) anonymised, %d cart(s) forgotten, %d saved address(es) deleted%s",
        user_id, f"by staff {actor_id}" if actor_id else "by its owner", orders, carts, addresses,
        ", saved cards to detach at Stripe" if cards else "",
    )
    return AccountDeleted(user_id, orders, carts, addresses, cards)


def _scrub_admin_log(user_id: int) -> None:
    """The admin's log names the objects it records ("ada@example.com"): for this user,
    the name becomes "customer #<id>"; who did what, and when, stays."""
    from django.contrib.contenttypes.models import ContentType

    from accounts.models import Customer

    types = [ContentType.objects.get_for_model(model, for_concrete_model=False) for model in (get_user_model(), Customer)]
    LogEntry.objects.filter(content_type__in=types, object_id=str(user_id)).update(object_repr=f"customer #{user_id}")
