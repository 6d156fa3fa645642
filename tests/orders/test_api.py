"""GET /api/v1/orders/ and /api/v1/orders/{number}/: the customer's orders, a guest with
the token of the order's url, and 404 for everyone else."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from cart.models import Cart
from orders.models import Order
from tests.support.api_helpers import assert_error
from tests.support.stripe_fixtures import ADDRESS


@pytest.fixture
def chair(make_variant):
    return make_variant("CHAIR-OAK", price="120.00", on_hand=5, wood="oak")


def buy(api, emulator, ready_cart, variant, quantity=1, user=None) -> Order:
    cart = ready_cart({variant: quantity})
    if user is not None:
        Cart.objects.filter(pk=cart.pk).update(user=user)
    response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": emulator.payment_method()})
    assert response.status_code == 200, response.content
    return Order.objects.get(cart=cart)


def test_guest_reads_the_order_with_the_url_from_the_cart(api, stripe_emulator, ready_cart, chair):
    order = buy(api, stripe_emulator, ready_cart, chair, 2)
    url = api.get(f"/api/v1/carts/{order.cart_id}/").json()["order"]["url"]

    response = api.get(url)

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "number": order.number,
        "status": "paid",
        "payment_status": "paid",
        "currency": "USD",
        "exchange_rate": "1",
        "lines": [
            {
                "sku": "CHAIR-OAK",
                "name": f"{chair.product.name} – oak",
                "attributes": {"wood": "oak"},
                "quantity": 2,
                "unit_price": {"amount": "120.00", "currency": "USD"},
                "unit_price_usd": {"amount": "120.00", "currency": "USD"},
                "line_total": {"amount": "240.00", "currency": "USD"},
                "discount": {"amount": "0.00", "currency": "USD"},
                "tax": {"amount": "0.00", "currency": "USD"},
                "tax_rate": None,
            }
        ],
        "subtotal": {"amount": "240.00", "currency": "USD"},
        "shipping": {"amount": "0.00", "currency": "USD"},
        "tax": {"amount": "0.00", "currency": "USD"},
        "tax_lines": [],
        "prices_include_tax": False,
        "discount": {"amount": "0.00", "currency": "USD"},
        "discount_code": None,
        "total": {"amount": "240.00", "currency": "USD"},
        "refunded": {"amount": "0.00", "currency": "USD"},
        "email": "ada@example.com",
        "shipping_address": ADDRESS,
        "billing_address": None,
        "shipping_method": None,
        "shipping_method_name": None,
        "created_at": order.created_at.isoformat(),
        "fulfilments": [],
        "refunds": [],
        "events": [{"status": "paid", "at": order.events.get().created_at.isoformat(), "note": "Order placed and paid"}],
    }
    assert order.number.startswith(f"ORD-{order.created_at.year}-")


@pytest.mark.parametrize("query", ["", "?token=", "?token=wrong", "?token=%s"])
def test_order_without_the_right_token_is_404(api, stripe_emulator, ready_cart, chair, query):
    order = buy(api, stripe_emulator, ready_cart, chair)
    if "%s" in query:
        query = query % order.access_token[:-1]  # one character short

    assert_error(api.get(f"/api/v1/orders/{order.number}/{query}"), 404, "not_found")


@pytest.mark.parametrize("token", ["%C3%A9", "%E2%82%AC" * 10, "%F0%9F%94%91"], ids=["e-acute", "euros", "emoji"])
def test_a_non_ascii_token_is_404_on_the_api_and_the_order_page(api, stripe_emulator, ready_cart, chair, token):
    order = buy(api, stripe_emulator, ready_cart, chair)

    assert_error(api.get(f"/api/v1/orders/{order.number}/?token={token}"), 404, "not_found")
    page = api.get(f"/orders/{order.number}/?token={token}")
    assert page.status_code == 404
    assert api.get(f"/orders/{order.number}/?token={order.access_token}").status_code == 200


def test_unknown_order_number_is_404(api, db):
    assert_error(api.get("/api/v1/orders/ORD-2026-99999/?token=x"), 404, "not_found")


def test_customer_reads_their_orders_without_a_token(api, stripe_emulator, ready_cart, chair, make_variant):
    users = get_user_model().objects
    ada, bob = users.create_user("ada", password="pw-12345678"), users.create_user("bob", password="pw-12345678")
    mine = buy(api, stripe_emulator, ready_cart, chair, user=ada)
    theirs = buy(api, stripe_emulator, ready_cart, make_variant("STOOL", price="30.00"), user=bob)
    api.force_login(ada)

    listing = api.get("/api/v1/orders/")
    detail = api.get(f"/api/v1/orders/{mine.number}/")
    other = api.get(f"/api/v1/orders/{theirs.number}/")

    assert listing.status_code == 200 and [o["number"] for o in listing.json()] == [mine.number]
    assert listing.json()[0]["total"] == {"amount": "120.00", "currency": "USD"}
    assert detail.status_code == 200 and detail.json()["number"] == mine.number
    assert_error(other, 404, "not_found")


def test_anonymous_order_list_is_empty(api, stripe_emulator, ready_cart, chair):
    buy(api, stripe_emulator, ready_cart, chair)

    response = api.get("/api/v1/orders/")

    assert response.status_code == 200 and response.json() == []
