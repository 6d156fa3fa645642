"""`{% product_image image "card" %}`: an <img> of a recorded thumbnail size with its 2x
version in srcset, its width and height (no layout shift) and lazy loading unless it is
the first picture a page shows."""
from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from catalog.images import thumbnail
from catalog.models import ProductImage

register = template.Library()


@register.simple_tag
def product_image(image: ProductImage, alias: str, lazy: bool = True, css_class: str = "", alt: str | None = None, **data: str) -> str:
    one = thumbnail(image, alias, 1)
    two = thumbnail(image, alias, 2)
    srcset = f"{one.url} 1x, {two.url} 2x" if two.url != one.url else f"{one.url} 1x"
    loading = mark_safe(' loading="lazy" decoding="async"' if lazy else ' fetchpriority="high"')
    extra = format_html(
        "".join(f' data-{key.replace("_", "-")}="{{}}"' for key in data), *data.values()
    ) if data else ""
    return format_html(
        '<img src="{}" srcset="{}" width="{}" height="{}" alt="{}"{}{}{}>',
        one.url, srcset, one.width, one.height, image.alt_text if alt is None else alt,
        format_html(' class="{}"', css_class) if css_class else "", loading, extra,
    )


@register.simple_tag
def variant_attributes(product) -> dict[str, dict]:
    """SKU -> id and attributes of the product's active variants, for the gallery's script
    (which picture a chosen variant shows)."""
    return {
        variant.sku: {"id": variant.pk, "attributes": variant.attributes}
        for variant in getattr(product, "active_variants", [])
    }
