"""Tags for what search engines and link previews read from every page's head."""
from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_language, to_locale

register = template.Library()

# Query parameters that name a different page of content (kept in the canonical URL);
# the rest (sorting, filters, tracking) show the same content another way.
CANONICAL_PARAMETERS = ("page",)


def canonical_url_for(request: HttpRequest | None) -> str:
    """The public address of the page: SITE_URL + path, keeping only `page` (from 2 on)."""
    base = settings.SITE_URL.rstrip("/")
    if request is None:
        return base + "/"
    kept = [
        (name, value)
        for name in CANONICAL_PARAMETERS
        for value in request.GET.getlist(name)[:1]
        if value.isdigit() and int(value) > 1
    ]
    return base + request.path + (f"?{urlencode(kept)}" if kept else "")


@register.simple_tag(takes_context=True)
def canonical_url(context: template.Context) -> str:
    return canonical_url_for(context.get("request"))


@register.simple_tag
def absolute_url(path: str) -> str:
    """SITE_URL + a path from {% url %} or {% static %} (left alone if already absolute)."""
    if path.startswith(("http://", "https://")):
        return path
    return settings.SITE_URL.rstrip("/") + "/" + path.lstrip("/")


@register.simple_tag
def og_locale() -> str:
    """The page's language as Open Graph writes it (en_US style)."""
    return to_locale(get_language() or settings.LANGUAGE_CODE)
