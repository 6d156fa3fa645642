"""Reads of the address book. Another customer's address is NotFound (a 404), never
someone else's data."""
from __future__ import annotations

from typing import Any

from addresses.models import SavedAddress
from shop.errors import NotFound

SHIPPING = "shipping"
BILLING = "billing"
KINDS = (SHIPPING, BILLING)


def addresses_of(*, user_id: int) -> list[SavedAddress]:
    """The customer's saved addresses: the defaults first, then the most recently used."""
    return list(SavedAddress.objects.filter(user_id=user_id))


def address_of(*, user_id: int, address_id: Any) -> SavedAddress:
    """One of the customer's saved addresses; NotFound for anyone else's or none."""
    try:
        return SavedAddress.objects.get(user_id=user_id, pk=int(address_id))
    except (SavedAddress.DoesNotExist, TypeError, ValueError):
        raise NotFound("That address is not in your address book.") from None


def default_address(*, user_id: int, kind: str) -> SavedAddress | None:
    """The customer's default shipping or billing address, if they chose one."""
    flag = "is_default_shipping" if kind == SHIPPING else "is_default_billing"
    return SavedAddress.objects.filter(user_id=user_id, **{flag: True}).first()


def matching_address(*, user_id: int, address: dict[str, str] | None) -> SavedAddress | None:
    """The saved address equal to `address` (as a cart stores it), if there is one."""
    if not address:
        return None
    return next((saved for saved in addresses_of(user_id=user_id) if saved.as_address() == address), None)


def export_addresses(*, user_id: int) -> list[dict[str, Any]]:
    """The address book as plain data, for the customer's data export."""
    return [
        {
            **saved.as_address(),
            "is_default_shipping": saved.is_default_shipping,
            "is_default_billing": saved.is_default_billing,
            "created_at": saved.created_at.isoformat(),
            "updated_at": saved.updated_at.isoformat(),
        }
        for saved in addresses_of(user_id=user_id)
    ]
