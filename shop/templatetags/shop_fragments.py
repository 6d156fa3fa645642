"""`{% fragment key [variant ...] %}...{% endfragment %}`: the enclosed template, rendered
once per key, variant, language and money locale and then read from the process's fragment cache
(shop/fragments.py). The key is a digest of every value the enclosed part shows; the
variants name what else changes it (a card's picture loaded eagerly or lazily); an empty
key renders it every time (a page with a shopper's own input in it, such as a refused
form)."""
from __future__ import annotations

from django import template
from django.core.cache import caches
from django.utils import translation
from django.utils.safestring import mark_safe

from shop.fragments import FRAGMENT_SECONDS

register = template.Library()


class FragmentNode(template.Node):
    def __init__(self, nodelist: template.NodeList, parts: list[template.base.FilterExpression]) -> None:
        self.nodelist = nodelist
        self.parts = parts

    def render(self, context: template.Context) -> str:
        key, *variants = (part.resolve(context) for part in self.parts)
        if not key:
            return self.nodelist.render(context)
        cache = caches["fragments"]
        # Money is formatted in the shopper's locale (currencies.choice: "de_CH" on a German page).
        money_locale = getattr(context.get("request"), "shop_locale", "")
        cache_key = ":".join(("fragment", translation.get_language(), money_locale, str(key), *map(str, variants)))
        html = cache.get(cache_key)
        if html is None:
            html = self.nodelist.render(context)
            cache.set(cache_key, str(html), FRAGMENT_SECONDS)
        return mark_safe(html)


@register.tag("fragment")
def do_fragment(parser: template.base.Parser, token: template.base.Token) -> FragmentNode:
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("{% fragment key %} needs the digest of what it shows.")
    nodelist = parser.parse(("endfragment",))
    parser.delete_first_token()
    return FragmentNode(nodelist, [parser.compile_filter(bit) for bit in bits[1:]])
