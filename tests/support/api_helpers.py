"""Helpers shared by the API tests: the error-shape assertion and a snapshot of everything
a request could change. (Exchange rates fixed to a known table: tests/support/rates.py.)"""
from __future__ import annotations

from cart.models import Cart, CartLine
from inventory.models import Reservation, Stock, StockMovement


def assert_error(response, status: int, code: str) -> dict:
    """The response is docs/api.md's error shape with this status and code; returns the error."""
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
            Reservation.objects.order_by("pk").values_list("pk", "holder_id", "variant_id", "quantity", "status", "expires_at")
        ),
        "movements": StockMovement.objects.count(),
    }
