"""Checks of what a shopper sends for a cart: quantities, emails, addresses."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django_countries import countries

from shop.errors import InvalidInput

MAX_LINE_QUANTITY = 99
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country")
REQUIRED_ADDRESS_FIELDS = ("name", "line1", "city", "postal_code", "country")
ADDRESS_MAX_LENGTH = 200



def is_country(code: str) -> bool:
    """An ISO 3166-1 alpha-2 code of a real country (django-countries' list: not
    "European Union", "Eurozone" or "Unknown Region")."""
    return len(code) == 2 and code.isalpha() and code.isupper() and bool(countries.name(code))


def country_name(code: str) -> str:
    return str(countries.name(code)) or code
EMAIL_MAX_LENGTH = 254  # the column's length; Django's validator alone allows up to 320
_CONTROL_CHARACTERS = frozenset(map(chr, [*range(0x20), 0x7F]))


def has_control_characters(text: str) -> bool:
    """Control characters (NUL above all, which PostgreSQL refuses) never belong in a
    one-line field; they are bad input, not a database error."""
    return not _CONTROL_CHARACTERS.isdisjoint(text)


def parse_quantity(value: Any, *, field: str = "quantity") -> int:
    """An integer from 1 to 99; booleans, floats and strings are refused."""
    if value is None:
        raise InvalidInput("Give a quantity from 1 to 99.", details={field: ["This field is required."]})
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("Quantity must be a whole number from 1 to 99.", details={field: ["Must be an integer from 1 to 99."]})
    if not 1 <= value <= MAX_LINE_QUANTITY:
        raise InvalidInput("Quantity must be a whole number from 1 to 99.", details={field: ["Must be an integer from 1 to 99."]})
    return value


def clean_email(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("Enter an email address.", details={"email": ["Enter a valid email address."]})
    email = value.strip()
    if len(email) > EMAIL_MAX_LENGTH:
        raise InvalidInput("Enter a valid email address.", details={"email": [f"At most {EMAIL_MAX_LENGTH} characters."]})
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput("Enter a valid email address.", details={"email": ["Enter a valid email address."]}) from None
    if has_control_characters(email):
        raise InvalidInput("Enter a valid email address.", details={"email": ["Enter a valid email address."]})
    return email


def address_errors(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        return {"": ["Must be an object with name, line1, city, postal_code and country."]}
    # Keys outside ADDRESS_FIELDS are ignored (clean_address drops them), as docs/api.md only
    # promises what the listed fields mean.
    errors: dict[str, list[str]] = {}
    for key in ADDRESS_FIELDS:
        raw = value.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if key in REQUIRED_ADDRESS_FIELDS:
                errors[key] = ["This field is required."]
            continue
        if not isinstance(raw, str):
            errors[key] = ["Must be text."]
        elif len(raw) > ADDRESS_MAX_LENGTH:
            errors[key] = [f"At most {ADDRESS_MAX_LENGTH} characters."]
        elif has_control_characters(raw):
            errors[key] = ["Must be plain text on one line."]
    country = value.get("country")
    if isinstance(country, str) and country.strip() and "country" not in errors:
        code = country.strip().upper()
        if not is_country(code):
            errors["country"] = ["Use an ISO 3166 two-letter country code, like US or DE."]
    return errors


def clean_address(value: Any, *, field: str) -> dict[str, str]:
    errors = address_errors(value)
    if errors:
        details = {f"{field}.{key}" if key else field: messages for key, messages in errors.items()}
        raise InvalidInput(f"Check the {field.replace('_', ' ')}.", details=details)
    cleaned = {key: value[key].strip() for key in ADDRESS_FIELDS if isinstance(value.get(key), str) and value[key].strip()}
    cleaned["country"] = cleaned["country"].upper()
    return cleaned


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
