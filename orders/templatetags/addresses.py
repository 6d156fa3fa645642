"""{{ code|country_name }}: an ISO 3166 country code as people read it (CLDR, English)."""
from __future__ import annotations

from django import template

from cart.validation import country_name as name_of_country

register = template.Library()


@register.filter
def country_name(code: str | None) -> str:
    if not code:
        return ""
    return name_of_country(str(code).upper())
