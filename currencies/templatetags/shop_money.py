from django import template
from django.utils.html import format_html

from currencies.money import format_money

register = template.Library()


@register.simple_tag(takes_context=True)
def money(context, value) -> str:
    """{% money price %}: formatted for the shopper's locale."""
    request = context.get("request")
    locale = getattr(request, "shop_locale", None) if request else None
    return format_money(value, locale)


@register.simple_tag(takes_context=True)
def money_with_code(context, value) -> str:
    """{% money_with_code total %}: the amount, then its ISO code unless the amount already
    shows it ("$17.28 USD", but "KWD 17.280", not "KWD 17.280 KWD")."""
    shown = money(context, value)
    code = value.currency.code
    if code in shown:
        return shown
    return format_html('{} <span class="currency-code">{}</span>', shown, code)
