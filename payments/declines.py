"""What a shopper is told when a payment is refused, by Stripe's decline or error code.

Stripe's own messages are written for developers; these are for shoppers. Codes that hint
at fraud (lost, stolen, fraudulent) get the plain "declined" sentence on purpose.
"""
from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

from shop import metrics
from shop.errors import PaymentFailed

_DECLINED = gettext_noop("Your card was declined. Nothing was charged. Try another card, or contact your bank.")

_MESSAGES: dict[str, str] = {
    "card_declined": _DECLINED,
    "generic_decline": _DECLINED,
    "do_not_honor": _DECLINED,
    "lost_card": _DECLINED,
    "stolen_card": _DECLINED,
    "pickup_card": _DECLINED,
    "fraudulent": _DECLINED,
    "restricted_card": _DECLINED,
    "security_violation": _DECLINED,
    "transaction_not_allowed": _DECLINED,
    "insufficient_funds": gettext_noop("Your card has insufficient funds. Nothing was charged. Try another card."),
    "card_velocity_exceeded": gettext_noop("Your card has reached its spending limit. Nothing was charged. Try another card."),
    "withdrawal_count_limit_exceeded": gettext_noop("Your card has reached its spending limit. Nothing was charged. Try another card."),
    "expired_card": gettext_noop("Your card has expired. Check the expiry date or use another card."),
    "invalid_expiry_month": gettext_noop("The expiry date of your card is not right. Check it and try again."),
    "invalid_expiry_year": gettext_noop("The expiry date of your card is not right. Check it and try again."),
    "incorrect_cvc": gettext_noop("The security code (CVC) of your card is not right. Check it and try again."),
    "invalid_cvc": gettext_noop("The security code (CVC) of your card is not right. Check it and try again."),
    "incorrect_number": gettext_noop("The card number is not right. Check it and try again."),
    "invalid_number": gettext_noop("The card number is not right. Check it and try again."),
    "incorrect_zip": gettext_noop("The postcode does not match your card's billing address. Check it and try again."),
    "card_not_supported": gettext_noop("This card cannot be used for this purchase. Try another card."),
    "currency_not_supported": gettext_noop("This card cannot pay in this currency. Try another card or currency."),
    "processing_error": gettext_noop("Your bank could not process the payment just now. Nothing was charged; try again in a moment."),
    "try_again_later": gettext_noop("Your bank could not process the payment just now. Nothing was charged; try again in a moment."),
    "authentication_required": gettext_noop("Your bank asks you to confirm this payment. Try again and follow your bank's steps."),
    "payment_intent_authentication_failure": gettext_noop(
        "Your bank did not confirm the payment (3-D Secure), so nothing was charged. Try again or use another card."
    ),
    "payment_method_unusable": gettext_noop("This card cannot be used. Nothing was charged. Try another card."),
    "amount_mismatch": gettext_noop(
        "The amount charged did not match your order, so we are refunding it in full. Please try the payment again."
    ),
    "cart_changed": gettext_noop(
        "Your cart changed after this payment's checkout ended, so we are refunding it in full. "
        "Check your cart and pay again."
    ),
}


def shopper_message(code: str | None) -> str:
    return gettext(_MESSAGES.get(code or "", _DECLINED))  # in the language of the shopper's request


def payment_failed(code: str | None) -> PaymentFailed:
    """The 402 `payment_failed` error for a decline code (details carry the code)."""
    metrics.count_payment_failure(code, _MESSAGES)
    return PaymentFailed(shopper_message(code), details={"decline_code": code} if code else {})
