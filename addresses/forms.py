"""The address form of a country, for the checkout's address step and the address book.

Not a Django Form: the rules that judge an address are addresses.validation's (the API
and the pages answer the same), so the form only lays the fields out by the country's
rules (addresses.rules) and shows the problems it is given next to each field.

A form posts its fields as "<prefix>-<field>" ("shipping-postal_code") plus
"<prefix>-rendered_country", the country the fields were laid out for. When the posted
country differs from it, the shopper changed the country without the page updating (no
JavaScript): the page shows the new country's fields again instead of judging an address
typed into the old ones. A submit button named "refresh" does the same on purpose; with
JavaScript, static/js/address_form.js fetches the re-rendered fields when the country
changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from django.utils.translation import gettext

from addresses.formatting import country_name
from addresses.rules import ADDRESS_FIELDS, CountryRules, region_value, rules_for

REFRESH_FIELD = "refresh"
RENDERED_COUNTRY = "rendered_country"
AUTOCOMPLETE = {
    "name": "name",
    "line1": "address-line1",
    "line2": "address-line2",
    "city": "address-level2",
    "region": "address-level1",
    "postal_code": "postal-code",
    "country": "country",
}


@dataclass
class FormField:
    name: str  # the posted name: shipping-postal_code
    id: str  # id_shipping_postal_code
    key: str  # postal_code
    label: str
    value: str
    required: bool
    autocomplete: str
    errors: list[str] = field(default_factory=list)
    hint: str = ""
    choices: list[tuple[str, str]] | None = None  # a select's (value, label)
    placeholder: str = ""  # a select's empty choice
    offered: bool = True  # for the country: the value is one of the choices

    @property
    def is_select(self) -> bool:
        return self.choices is not None


@dataclass
class AddressForm:
    prefix: str
    rules: CountryRules
    country: FormField
    rows: list[list[FormField]]
    errors: list[str]  # about the address as a whole

    @property
    def fields(self) -> list[FormField]:
        return [self.country, *(f for row in self.rows for f in row)]


def address_from_post(data: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """The address fields a form posted, stripped ("" for a field not posted)."""
    return {key: str(data.get(f"{prefix}-{key}", "")).strip() for key in ADDRESS_FIELDS}


def country_changed(data: Mapping[str, Any], prefix: str) -> bool:
    """The shopper changed the country since the fields were laid out (or pressed the
    form's Update button): show the new country's fields rather than judge these."""
    if data.get(REFRESH_FIELD) == prefix:
        return True
    rendered = str(data.get(f"{prefix}-{RENDERED_COUNTRY}", "")).strip().upper()
    posted = str(data.get(f"{prefix}-country", "")).strip().upper()
    return bool(rendered) and rendered != posted


def country_choices(countries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(code, name) for a country list, named as addresses name them ("United States")."""
    return sorted(((code, country_name(code)) for code, _ in countries), key=lambda choice: choice[1])


def address_form(
    *,
    prefix: str,
    values: Mapping[str, Any] | None,
    errors: Mapping[str, list[str]] | None = None,
    error_prefix: str | None = None,
    countries: list[tuple[str, str]],
    default_country: str = "",
    section: str = "",
) -> AddressForm:
    """The form of `values`' country (else `default_country`), with `values` filled in
    and `errors` (keyed "<error_prefix>.<field>", or "<field>" without a prefix) next to
    their fields. `section` starts the autocomplete tokens ("shipping", "billing")."""
    errors = errors or {}
    values = dict(values or {})
    choices = country_choices(countries)
    codes = {code for code, _ in choices}
    country = str(values.get("country") or "").strip().upper() or default_country
    rules = rules_for(country)

    def errors_of(key: str) -> list[str]:
        return list(errors.get(f"{error_prefix}.{key}" if error_prefix else key, []))

    def make(key: str) -> FormField:
        value = str(values.get(key) or "")
        made = FormField(
            name=f"{prefix}-{key}",
            id=f"id_{prefix}_{key}",
            key=key,
            label=gettext(rules.labels[key]),
            value=value,
            required=key in rules.required,
            autocomplete=f"{section} {AUTOCOMPLETE[key]}".strip(),
            errors=errors_of(key),
        )
        if key == "postal_code" and rules.postal_examples:
            made.hint = gettext("For example %(example)s") % {"example": rules.postal_examples[0]}
        if key == "region" and rules.region_choices:
            made.choices = list(rules.region_choices)
            made.value = (region_value(rules.country, value) or "") if value else ""
            region = gettext(rules.labels["region"])  # English reads it mid-sentence, in lower case
            made.placeholder = gettext("Choose a %(region)s") % {"region": region.lower() if region == rules.labels["region"] else region}
        return made

    country_field = FormField(
        name=f"{prefix}-country",
        id=f"id_{prefix}_country",
        key="country",
        label=gettext(rules.labels["country"]),
        value=country,
        required=True,
        autocomplete=f"{section} {AUTOCOMPLETE['country']}".strip(),
        errors=errors_of("country"),
        choices=choices,
        placeholder=gettext("Choose a country"),
        # A country not in the list (one the shop does not ship to): the list asks for
        # a choice instead of showing another country as chosen.
        offered=country in codes,
    )
    rows = [[make(key) for key in row] for row in rules.rows]
    whole = list(errors.get(error_prefix, [])) if error_prefix else list(errors.get("address", []))
    return AddressForm(prefix=prefix, rules=rules, country=country_field, rows=rows, errors=whole)
