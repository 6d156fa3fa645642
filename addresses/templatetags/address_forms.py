"""Helpers of the address form's template (templates/addresses/_fields.html)."""
from __future__ import annotations

import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_HYPHENATED = re.compile(r"\b\w+(?:-\w+)+\b")


@register.filter
def unbroken_codes(text: str) -> SafeString:
    """The text escaped, with hyphenated codes kept on one line: a narrow screen breaks
    "e.g. 154-0023." before the code, not inside it."""
    escaped = str(conditional_escape(text))
    return mark_safe(_HYPHENATED.sub(lambda found: f'<span class="nowrap">{found.group(0)}</span>', escaped))  # noqa: S308 (escaped above)
