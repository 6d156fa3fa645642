"""Typed domain errors. Services raise them; the API turns each into the error shape of
docs/api.md in one place (shop.api_errors) and pages show `message` to the shopper."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class ShopError(Exception):
    code = "invalid"
    status = 400
    default_message = _("The request is not valid.")

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        # In the language of the request that raised it (pages show it to the shopper).
        self.message = message or str(self.default_message)
        self.details = details or {}
        super().__init__(self.message)


class InvalidInput(ShopError):
    code = "invalid"
    status = 400


class NotFound(ShopError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class UnsupportedCurrency(ShopError):
    code = "unsupported_currency"
    status = 400
    default_message = _("That currency is not supported.")


class CheckoutIncomplete(ShopError):
    code = "checkout_incomplete"
    status = 400
    default_message = _("Some checkout details are missing.")


class InsufficientStock(ShopError):
    """items: [{"sku", "requested", "available", "name"}]."""

    code = "insufficient_stock"
    status = 409

    def __init__(self, items: list[dict[str, Any]]):
        self.items = items
        parts = []
        for item in items:
            name = item.get("name") or item["sku"]
            if item["available"] <= 0:
                parts.append(gettext("%(name)s is out of stock") % {"name": name})
            else:
                parts.append(gettext("Only %(available)d left of %(name)s") % {"available": item["available"], "name": name})
        public = [{k: item[k] for k in ("sku", "requested", "available")} for item in items]
        super().__init__("; ".join(parts) + ".", details={"items": public})

    @classmethod
    def of(cls, shortages: Iterable[tuple[Any, int, int]]) -> InsufficientStock:
        """The error for (variant, requested, available) triples; a variant gives its
        `sku` and reads as the name a shopper knows ("Linen shirt – M")."""
        return cls([
            {"sku": variant.sku, "name": str(variant), "requested": requested, "available": available}
            for variant, requested, available in shortages
        ])


class CartNotActive(ShopError):
    code = "cart_not_active"
    status = 409
    default_message = _("This cart can no longer be changed.")


class CartNotInCheckout(ShopError):
    code = "cart_not_in_checkout"
    status = 409
    default_message = _("This cart is not in checkout.")


class ReservationExpired(ShopError):
    code = "reservation_expired"
    status = 409
    default_message = _("Your reservation expired. Start checkout again to reserve the items.")


class StockAdjustmentRefused(InvalidInput):
    code = "invalid"
    status = 400


class TransitionRefused(ShopError):
    """An order cannot move to the status asked for (the status machine of
    orders.services); `message` says why."""

    code = "invalid"
    status = 400
    default_message = _("The order cannot change like that.")


class OrderNotCancellable(TransitionRefused):
    """The order cannot be cancelled any more (details: `reason`, its status)."""

    code = "order_not_cancellable"
    status = 409
    default_message = _("This order can no longer be cancelled.")


class DiscountNotApplicable(ShopError):
    """A discount code that does not apply to this cart; details carry `reason`: unknown,
    expired, not_started, used_up, minimum_not_met, not_in_cart or customer_limit."""

    code = "discount_not_applicable"
    status = 400
    default_message = _("That discount code does not apply to this cart.")

    def __init__(self, message: str | None = None, *, reason: str):
        self.reason = reason
        super().__init__(message, details={"reason": reason})


class DiscountUnavailable(ShopError):
    """The cart's discount code cannot be used for this payment any more (its last use was
    taken by another checkout, it expired, ...); details carry `reason` as above. Raised
    before any card is charged."""

    code = "discount_unavailable"
    status = 409
    default_message = _("Your discount code can no longer be used. Remove it or try another.")

    def __init__(self, message: str | None = None, *, reason: str):
        self.reason = reason
        super().__init__(message, details={"reason": reason})


class PaymentFailed(ShopError):
    """The payment was refused (declined card, failed 3-D Secure); details carry Stripe's
    decline code when known. The cart stays in checkout with its reservation."""

    code = "payment_failed"
    status = 402
    default_message = _("The payment did not go through. Try another card.")


class PaymentProviderUnavailable(ShopError):
    """Stripe could not be reached or failed; nothing was charged and nothing changed."""

    code = "payment_provider_unavailable"
    status = 502
    default_message = _("The payment service is not reachable right now. Nothing was charged; please try again in a minute.")


class PaymentInProgress(ShopError):
    """Another request is paying for this cart right now (its Stripe calls are running).
    docs/api.md has no "busy" code; 429 `rate_limited` with Retry-After tells a client to come
    back, and the retry sees how that payment ended."""

    code = "rate_limited"
    status = 429
    default_message = _("A payment for this cart is being processed. Try again in a moment.")

    def __init__(self, message: str | None = None, *, retry_after: int = 2):
        self.retry_after = retry_after
        super().__init__(message, details={"retry_after": retry_after})


class AmountNotChargeable(InvalidInput):
    """An amount Stripe would refuse: below the currency's minimum charge, more than eight
    digits, or not a whole number of Stripe's unit/step. `reason` is one of "minimum",
    "maximum", "step", "precision"; `money` is the amount refused."""

    code = "invalid"
    status = 400
    default_message = _("This amount cannot be charged by card.")

    def __init__(self, message: str | None = None, *, reason: str, money: Any = None, field: str = "total"):
        self.reason = reason
        self.money = money
        message = message or str(self.default_message)
        super().__init__(message, details={field: [message]})


class RateUnavailable(UnsupportedCurrency):
    """A configured currency that has no exchange rate stored yet: shoppers cannot use it
    until a refresh or a staff override provides one."""
