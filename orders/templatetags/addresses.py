"""Addresses on pages and in emails, written the one way (addresses.formatting), so an
address reads the same on the order page, in the confirmation email and in admin:

    {% load addresses %}
    <address>{{ order.shipping_address|address_html }}</address>
    {% for line in order.shipping_address|address_lines %}{{ line }}
    {% endfor %}
    Shipping to {{ cart.shipping_address|address_inline }}
    {{ code|country_name }}   ("United States")
"""
from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from addresses import formatting

register = template.Library()


@register.filter
def country_name(code: str | None) -> str:
    return formatting.country_name(str(code)) if code else ""


@register.filter
def address_lines(address: dict[str, Any] | None) -> list[str]:
    """The address's lines, the country last: for text emails and custom layouts."""
    return formatting.address_lines(address) if isinstance(address, dict) else []


@register.filter
def address_html(address: dict[str, Any] | None) -> SafeString:
    """The address's lines joined by <br>, each escaped: the content of an <address>."""
    return mark_safe("<br>".join(conditional_escape(line) for line in address_lines(address)))  # noqa: S308 (each line escaped)


@register.filter
def address_inline(address: dict[str, Any] | None) -> str:
    """The address on one line, commas between its lines."""
    return formatting.address_inline(address) if isinstance(address, dict) else ""
