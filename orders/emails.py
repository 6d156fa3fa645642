"""Emails about orders: the shopper's confirmation, the shopper's notice that paid goods
cannot be supplied (invariant 12), and alerts to staff.

Callers send them with transaction.on_commit after the transaction that made the order,
so a rolled-back order never mails and each order mails once. A failing mail server
never breaks a checkout: the failure is logged for staff.
"""
from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.urls import NoReverseMatch
from moneyed import Money

from orders.carriers import carrier_name
from orders.models import Order, Shipment
from currencies.money import format_money
from orders.selectors import gave_free_shipping, guest_link, order_tax_lines
from orders.services import is_anonymised

log = logging.getLogger(__name__)


def order_url(order: Order) -> str:
    """The order page with its guest token: the signed link a shopper keeps."""
    try:
        link = guest_link(order)
    except NoReverseMatch:  # no order pages mounted: the API's view of the order
        link = guest_link(order, view="api:order-detail")
    return settings.SITE_URL.rstrip("/") + link


# Emails are written in the order's language (Order.language, the shopper's at checkout),
# also when a Celery task or a Stripe webhook sends them, and amounts are formatted for that
# language: one locale per language, not the browser's region (which the order does not
# store). Guessing a locale from the currency (EUR -> de_DE) would be wrong for French or
# Irish shoppers. en_US with CLDR's symbols is unambiguous for every currency sold ($, €, £,
# ¥, CA$, A$, CHF, SEK, KWD), and format_money always writes the currency's ISO minor units
# (¥6,303, KWD 12.810), the same amount the page and Stripe use.
EMAIL_MONEY_LOCALE = "en_US"
EMAIL_MONEY_LOCALES = {"en": EMAIL_MONEY_LOCALE, "de": "de_DE", "fr": "fr_FR"}


def _money(value: Money) -> str:
    return format_money(value, EMAIL_MONEY_LOCALES.get(translation.get_language() or "", EMAIL_MONEY_LOCALE))


def _context(order: Order) -> dict[str, Any]:
    lines = [
        {
            "name": line.display_name,
            "sku": line.sku,
            "quantity": line.quantity,
            "unit_price": _money(line.unit_price),
            "line_total": _money(line.line_total),
        }
        for line in order.lines.all()
    ]
    tax_lines = [{"label": line.label, "amount": _money(line.amount)} for line in order_tax_lines(order)]
    return {
        "order": order,
        "lines": lines,
        "totals": {name: _money(getattr(order, name)) for name in ("subtotal", "shipping", "tax", "discount", "total")},
        "has_discount": order.discount.amount > 0,
        # What the totals block shows besides the amounts (templates/emails/_totals.*),
        # all from the order's snapshot.
        "tax_lines": tax_lines,
        "prices_include_tax": order.prices_include_tax,
        "discount_code": order.discount_code,
        "free_shipping": not order.shipping.amount,
        "free_shipping_code": gave_free_shipping(order),
        "shipping_method_name": order.shipping_method_name or order.shipping_method,
        "authorized_only": order.payment_status == Order.PaymentStatus.AUTHORIZED,
        "order_url": order_url(order),
        "shop_name": getattr(settings, "SHOP_NAME", "Shop"),
    }


def _one_line(text: str) -> str:
    """A subject on one line with single spaces; a no-break space (French puts one before
    ':') is kept, as str.split() would not."""
    return re.sub(r"[ \t\r\n\f\v]+", " ", text).strip()


def _send_to_shopper(order_id: int, template: str, extra: dict[str, Any] | None = None) -> bool:
    try:
        order = Order.objects.prefetch_related("lines").get(pk=order_id)
        if is_anonymised(order):  # its customer deleted their account: no one to tell
            log.info("no %s email for order id %s: its customer's data was deleted", template, order_id)
            return False
        with translation.override(order.language or settings.LANGUAGE_CODE):
            # Callables in `extra` (amounts, the carrier's name) are worked out in the order's language.
            context = {**_context(order), **{key: value() if callable(value) else value for key, value in (extra or {}).items()}}
            # One line; a no-break space (French before ':') stays, it is not a line break.
            subject = _one_line(render_to_string(f"emails/{template}_subject.txt", context))
            message = EmailMultiAlternatives(
                subject=subject,
                body=render_to_string(f"emails/{template}.txt", context),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[order.email],
            )
            message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
        message.send()
    except Exception:
        log.exception("could not send the %s email of order id %s", template, order_id)
        return False
    return True


def send_order_confirmation(order_id: int) -> bool:
    return _send_to_shopper(order_id, "order_confirmation")


def send_order_shipped(order_id: int, shipment_id: int) -> bool:
    """A parcel is on its way: what is in it, and the carrier's tracking link."""
    shipment = Shipment.objects.filter(pk=shipment_id).prefetch_related("lines__order_line").first()
    if shipment is None:
        log.error("no shipment %s to tell order id %s about", shipment_id, order_id)
        return False
    parcel = [{"name": line.order_line.display_name, "sku": line.order_line.sku, "quantity": line.quantity} for line in shipment.lines.all()]
    extra = {"shipment": shipment, "parcel": parcel, "carrier": partial(carrier_name, shipment.carrier)}
    return _send_to_shopper(order_id, "order_shipped", extra)


def send_refund_notice(order_id: int, amount: Money) -> bool:
    """Staff refunded `amount` of the order (a return, a goodwill gesture)."""
    return _send_to_shopper(order_id, "order_refunded", {"refund_amount": partial(_money, amount)})


def send_order_cancelled(order_id: int, refunding: Money | None) -> bool:
    """The order was cancelled: `refunding` (None: nothing was left to refund) is on its
    way back to the card, or the authorization is released."""
    return _send_to_shopper(order_id, "order_cancelled", {"refunding": partial(_money, refunding) if refunding is not None else ""})


def send_order_not_fulfilled(order_id: int, code_ran_out: str = "") -> bool:
    """Paid, but the order could not be supplied (the goods were gone, or `code_ran_out`:
    the discount code's last use was taken meanwhile): the shopper learns it is refunded."""
    return _send_to_shopper(order_id, "order_not_fulfilled", {"code_ran_out": code_ran_out})

