"""{{ code|country_name }}: an ISO 3166 country code as people read it (CLDR, English)."""
from __future__ import annotations

from babel import Locale
from django import template

register = template.Library()
_NAMES = Locale("en").territories


@register.filter
def country_name(code: str | None) -> str:
    if not code:
        return ""
    return _NAMES.get(str(code).upper(), str(code))
