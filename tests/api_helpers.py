"""Helpers shared by the API tests: the error-shape assertion, a snapshot of everything a
request could change, and exchange rates fixed to a known table."""
from __future__ import annotations

from decimal import Decimal

import pytest

from cart.models import Cart, CartLine
from inventory.models import Reservation, Stock, StockMovement
from shop import rates
from shop.errors import UnsupportedCurrency

TEST_RATES = {"USD": Decimal("1"), "EUR": Decimal("0.9"), "JPY": Decimal("151.237"), "KWD": Decimal("0.30701")}


@pytest.fixture
def fixed_rates(monkeypatch):
    """shop.rates answering from TEST_RATES, so conversion and rounding are known."""

    def validate_currency(code):
        code = (code or "").upper()
        if code not in TEST_RATES:
            raise UnsupportedCurrency(details={"currency": [f"Supported: {', '.join(TEST_RATES)}."]})
        return code

    monkeypatch.setattr(rates, "supported_currencies", lambda: tuple(TEST_RATES))
    monkeypatch.setattr(rates, "validate_currency", validate_currency)
    monkeypatch.setattr(rates, "current_rate", lambda code: TEST_RATES[validate_currency(code)])
    return TEST_RATES


def assert_error(response, status: int, code: str) -> dict:
    """The response is API.md's error shape with this status and code; returns the error."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def db_state() -> dict:
    """Everything a cart or checkout request could change, to prove a refusal changed nothing."""
    return {
        "carts": list(
            Cart.objects.order_by("pk").values_list(
                "pk", "status", "currency", "email", "shipping_address", "billing_address", "shipping_method",
                "checkout_step", "reservation_expires_at", "exchange_rate",
            )
        ),
        "lines": list(CartLine.objects.order_by("pk").values_list("pk", "cart_id", "variant_id", "quantity")),
        "stock": list(Stock.objects.order_by("variant_id").values_list("variant_id", "on_hand", "reserved")),
        "reservations": list(
            Reservation.objects.order_by("pk").values_list("pk", "cart_id", "variant_id", "quantity", "status", "expires_at")
        ),
        "movements": StockMovement.objects.count(),
    }
