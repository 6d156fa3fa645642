"""Writes of the address book. Every address is judged by addresses.validation (the same
rules as the checkout) and stored normalized. A customer's book is changed under a lock
of their user row (FOR NO KEY UPDATE: it does not block rows that merely point at the
user, such as new orders), so the one-default rules hold under concurrent requests; the
partial unique constraints on SavedAddress back them up."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from addresses.models import SavedAddress
from addresses.rules import ADDRESS_FIELDS
from addresses.selectors import BILLING, KINDS, SHIPPING, address_of
from addresses.validation import clean_address
from shop.errors import InvalidInput

ADDRESS_BOOK_LIMIT = 50
_FLAGS = {SHIPPING: "is_default_shipping", BILLING: "is_default_billing"}


def _lock_book(user_id: int) -> list[SavedAddress]:
    get_user_model().objects.select_for_update(no_key=True).filter(pk=user_id).exists()
    return list(SavedAddress.objects.select_for_update().filter(user_id=user_id).order_by("pk"))


def _fill(saved: SavedAddress, cleaned: dict[str, str]) -> None:
    for key in ADDRESS_FIELDS:
        setattr(saved, key, cleaned.get(key, ""))


def _make_default(book: list[SavedAddress], chosen: SavedAddress, kind: str) -> None:
    flag = _FLAGS[kind]
    for saved in book:
        if saved.pk != chosen.pk and getattr(saved, flag):
            setattr(saved, flag, False)
            saved.save(update_fields=[flag, "updated_at"])
    if not getattr(chosen, flag):
        setattr(chosen, flag, True)
        chosen.save(update_fields=[flag, "updated_at"])


def add_address(*, user_id: int, address: Any, default_shipping: bool = False, default_billing: bool = False) -> SavedAddress:
    """Save a new address (InvalidInput naming each bad field). The first address of a
    book becomes the default for shipping and billing."""
    cleaned = clean_address(address)
    with transaction.atomic():
        book = _lock_book(user_id)
        if len(book) >= ADDRESS_BOOK_LIMIT:
            raise InvalidInput(
                f"Your address book is full ({ADDRESS_BOOK_LIMIT} addresses). Delete one you no longer use first.",
                details={"address": [f"At most {ADDRESS_BOOK_LIMIT} saved addresses."]},
            )
        saved = SavedAddress(user_id=user_id)
        _fill(saved, cleaned)
        saved.save()
        for kind, wanted in ((SHIPPING, default_shipping), (BILLING, default_billing)):
            if wanted or not any(getattr(other, _FLAGS[kind]) for other in book):
                _make_default(book, saved, kind)
    return saved


def update_address(*, user_id: int, address_id: Any, address: Any) -> SavedAddress:
    """Change one of the customer's addresses (NotFound for anyone else's)."""
    cleaned = clean_address(address)
    with transaction.atomic():
        _lock_book(user_id)
        saved = address_of(user_id=user_id, address_id=address_id)
        _fill(saved, cleaned)
        saved.save()
    return saved


def delete_address(*, user_id: int, address_id: Any) -> None:
    """Delete one of the customer's addresses. If it was a default, the most recently
    changed address left takes its place, so a book with addresses always has defaults."""
    with transaction.atomic():
        book = _lock_book(user_id)
        saved = address_of(user_id=user_id, address_id=address_id)
        was = [kind for kind in KINDS if getattr(saved, _FLAGS[kind])]
        deleted_id = saved.pk
        saved.delete()
        rest = sorted((other for other in book if other.pk != deleted_id), key=lambda other: (other.updated_at, other.pk), reverse=True)
        if rest:
            for kind in was:
                _make_default(rest, rest[0], kind)


def set_default(*, user_id: int, address_id: Any, kind: str) -> SavedAddress:
    """Make one of the customer's addresses their default for `kind` ("shipping" or
    "billing"); the one before stops being it."""
    if kind not in KINDS:
        raise InvalidInput("Choose shipping or billing.", details={"kind": ["Must be shipping or billing."]})
    with transaction.atomic():
        book = _lock_book(user_id)
        saved = address_of(user_id=user_id, address_id=address_id)
        chosen = next(other for other in book if other.pk == saved.pk)
        _make_default(book, chosen, kind)
    return chosen


def save_checkout_address(*, user_id: int, address: Any) -> SavedAddress:
    """The address a signed-in shopper asked the checkout to remember: added to their
    book, unless the book already holds it (then that one is returned, unchanged)."""
    cleaned = clean_address(address)
    with transaction.atomic():
        book = _lock_book(user_id)
        for saved in book:
            if saved.as_address() == cleaned:
                return saved
        return add_address(user_id=user_id, address=cleaned)


def delete_address_book(*, user_id: int) -> int:
    """Delete every saved address of the customer (their account is being deleted);
    returns how many there were."""
    with transaction.atomic():
        _lock_book(user_id)
        deleted, _ = SavedAddress.objects.filter(user_id=user_id).delete()
    return deleted
