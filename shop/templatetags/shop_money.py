from django import template

from shop.money import format_money

register = template.Library()


@register.simple_tag(takes_context=True)
def money(context, value) -> str:
    """{% money price %}: formatted for the shopper's locale."""
    request = context.get("request")
    locale = getattr(request, "shop_locale", None) if request else None
    return format_money(value, locale)
