"""`{% product_json_ld card %}` (schema.org Product data of a product page) and
`{% product_share_image product as url %}` (its first picture, for link previews)."""
from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from catalog.images import thumbnail
from catalog.seo import product_structured_data
from shop.templatetags.shop_seo import absolute_url, canonical_url_for

register = template.Library()

# What may not appear raw inside a <script> element.
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def _image_urls(product: Any, limit: int = 3) -> list[str]:
    try:
        images = list(product.images.all()[:limit])
        return [absolute_url(thumbnail(image, "detail").url) for image in images]
    except (OSError, ValueError, KeyError):  # a missing picture file must not break the page's head
        return []


@register.simple_tag(takes_context=True)
def product_json_ld(context: template.Context, card: Any) -> SafeString:
    data = product_structured_data(
        card, url=canonical_url_for(context.get("request")), image_urls=_image_urls(card.product)
    )
    payload = json.dumps(data, ensure_ascii=False).translate(_SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{payload}</script>')  # noqa: S308 (escaped above)


@register.simple_tag
def product_share_image(product: Any) -> str:
    urls = _image_urls(product, limit=1)
    return urls[0] if urls else ""
