"""`{{ key|attribute_name }}`: a product attribute's name (a key of Variant.attributes, such
as "size") in the page's language. Attribute names are catalog data; the common ones are
translated here, any other is shown as staff wrote it, capitalised.

`{{ label|with_colon }}`: a label and the colon before its value, as the page's language
writes it ("Total:" in English and German, "Total :" with a no-break space in French).
A template writes `{% translate "Total" %}:` never, as the colon would stick to the word."""
from __future__ import annotations

from django import template
from django.utils.text import capfirst
from django.utils.translation import pgettext, pgettext_lazy

register = template.Library()

KNOWN_ATTRIBUTES = {
    "size": pgettext_lazy("product attribute", "Size"),
    "colour": pgettext_lazy("product attribute", "Colour"),
    "color": pgettext_lazy("product attribute", "Color"),
    "length": pgettext_lazy("product attribute", "Length"),
    "width": pgettext_lazy("product attribute", "Width"),
    "material": pgettext_lazy("product attribute", "Material"),
    "fit": pgettext_lazy("product attribute", "Fit"),
    "style": pgettext_lazy("product attribute", "Style"),
}


@register.filter
def attribute_name(key: object) -> str:
    text = str(key)
    known = KNOWN_ATTRIBUTES.get(text.strip().lower())
    return str(known) if known else capfirst(text)


def colon() -> str:
    """The colon after a label in the active language (French: a no-break space before it)."""
    return pgettext("after a label, before its value", ":")


@register.filter
def with_colon(label: object) -> str:
    return f"{label}{colon()}"


@register.simple_tag
def label_colon() -> str:
    """`{% label_colon %}`: the colon alone, after a label built of several parts (a link)."""
    return colon()
