"""What the shopper is told when the shop gives back a payment that made no order.

Sent after the refunding transaction commits (transaction.on_commit), once per payment,
since the refund is scheduled once. A failing mail server never breaks the caller.
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from payments.amounts import from_stripe
from payments.models import Payment
from currencies.money import format_money

log = logging.getLogger(__name__)


def send_refunded_without_order(payment_id: int) -> bool:
    """The payment came after its checkout had ended and the cart changed since: no
    order was made and the full amount is on its way back."""
    try:
        payment = Payment.objects.select_related("cart").get(pk=payment_id)
        email = payment.cart.email
        if not email:
            log.warning("payment %s refunded without order: no email to tell the shopper", payment.stripe_payment_intent_id)
            return False
        shop_name = getattr(settings, "SHOP_NAME", "Shop")
        amount = format_money(from_stripe(payment.amount, payment.currency))
        cart_url = settings.SITE_URL.rstrip("/") + reverse("cart:detail")
        # In the language the shopper asked to pay in (the intent's quote), like order emails.
        with translation.override((payment.quote or {}).get("language") or settings.LANGUAGE_CODE):
            body = "\n\n".join([
                gettext(
                    "Your card was charged %(amount)s, but by the time the payment went through you had left that "
                    "checkout and the items in your cart had changed, so we could not tell what it should pay for."
                ) % {"amount": amount},
                gettext(
                    "No order was made and we are refunding the full %(amount)s to your card. Depending on your bank it "
                    "shows on your statement within 5-10 working days. You do not need to do anything."
                ) % {"amount": amount},
                gettext("Your cart is as you left it: %(url)s") % {"url": cart_url},
                f"{shop_name}\n",
            ])
            subject = gettext("%(shop)s: your payment of %(amount)s is being refunded") % {"shop": shop_name, "amount": amount}
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
    except Exception:
        log.exception("could not tell the shopper about refunded payment id %s", payment_id)
        return False
    return True
