"""Hostile input is a 400 with a clear message, never a 500, and changes nothing: NUL
characters (PostgreSQL cannot store them), JSON nested past any use (RecursionError),
numbers past Decimal's range, and messages that would echo input of any length."""
from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from cart.models import Cart
from orders.models import Order
from payments.models import Refund
from shop.parsers import DEFAULT_MAX_DEPTH

DEEP = "[" * 100_000 + "]" * 100_000


def assert_invalid(response, where: str | None = None) -> dict:
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid"
    if where is not None:
        assert where in json.dumps(error["details"])
    return error


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders/%00/",
        "/api/v1/orders/ORD-2026-%0000001/?token=x",
        "/api/v1/products/%00/",
        "/api/v1/carts/%00/",
        "/api/v1/products/?q=lamp%00",
        "/api/v1/products/?category=%00",
        "/api/v1/orders/ORD-1/?token=%00",
    ],
)
def test_a_nul_in_an_api_path_or_query_is_400_invalid(api, path):
    error = assert_invalid(api.get(path))
    assert "NUL" in error["message"]


@pytest.mark.parametrize("path", ["/orders/%00/", "/products/%00/", "/?q=%00", "/cart/?next=%00"])
def test_a_nul_in_a_page_address_is_a_400_page(db, path):
    response = Client().get(path)
    assert response.status_code == 400
    assert "text/html" in response["Content-Type"]


def test_a_nul_in_a_form_field_is_400_and_changes_nothing(db, make_variant):
    variant = make_variant("LAMP-NUL", on_hand=5)
    client = Client()
    response = client.post(f"/cart/add/{variant.product.slug}/", {"sku": "LAMP-NUL\x00", "quantity": "1"})
    assert response.status_code == 400
    assert Cart.objects.count() == 0


def test_a_nul_in_a_cookie_is_dropped_and_the_request_still_answers(db):
    plain = Client().get("/api/v1/orders/")
    client = Client()
    client.cookies["sessionid"] = "abcdefgh\x00ijkl"
    response = client.get("/api/v1/orders/")
    assert response.status_code == plain.status_code != 500
    assert response.content == plain.content


@pytest.mark.parametrize(
    "method, path",
    [
        ("post", "/api/v1/carts/"),
        ("patch", "/api/v1/carts/{cart}/"),
        ("post", "/api/v1/carts/{cart}/lines/"),
        ("patch", "/api/v1/carts/{cart}/checkout/"),
        ("post", "/api/v1/carts/{cart}/payment/"),
    ],
)
def test_deeply_nested_json_is_400_on_every_endpoint_that_reads_a_body(api, make_cart, method, path):
    cart = make_cart()
    response = getattr(api, method)(path.format(cart=cart.pk), DEEP)
    error = assert_invalid(response, "body")
    assert "nested deeper than" in error["message"]
    cart.refresh_from_db()
    assert (cart.status, cart.currency, cart.lines.count()) == ("active", "USD", 0)


def test_moderate_nesting_that_json_parses_is_still_refused_past_the_limit(api, make_cart):
    cart = make_cart()
    nested: object = "EUR"
    for _ in range(DEFAULT_MAX_DEPTH):  # with the object around it, one level too deep
        nested = [nested]
    response = api.patch(f"/api/v1/carts/{cart.pk}/", {"currency": nested})
    assert_invalid(response, "body")


def test_a_nul_inside_json_is_400_naming_the_field_and_changes_nothing(api, make_cart, make_variant):
    make_variant("LAMP-1")
    cart = make_cart()
    response = api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": "LAMP-1\u0000", "quantity": 1})
    assert_invalid(response, "sku")
    assert cart.lines.count() == 0
    response = api.patch(f"/api/v1/carts/{cart.pk}/", {"discount_code": "SAVE\u000010"})
    assert response.status_code == 400 and "discount_code" in response.content.decode()
    cart.refresh_from_db()
    assert cart.discount_code in ("", None)


def test_nan_and_infinity_are_not_json(api, make_cart):
    cart = make_cart()
    response = api.post(f"/api/v1/carts/{cart.pk}/lines/", '{"sku": "X", "quantity": NaN}')
    assert_invalid(response, "body")


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/v1/carts/", {"currency": "X" * 5000}),
        ("/api/v1/carts/{cart}/lines/", {"sku": "S" * 5000, "quantity": 1}),
        ("/api/v1/carts/{cart}/", {"discount_code": "D" * 5000}),
    ],
)
def test_error_messages_do_not_echo_input_of_any_length(api, make_cart, path, body):
    cart = make_cart()
    method = api.patch if path == "/api/v1/carts/{cart}/" else api.post
    response = method(path.format(cart=cart.pk), body)
    assert 400 <= response.status_code < 500
    text = response.content.decode()
    assert "X" * 200 not in text and "S" * 200 not in text and "D" * 200 not in text
    assert len(text) < 2000


@pytest.fixture
def staff(db) -> Client:
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-12345678")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("amount", ["1e999999", "1e-999999", "123456789012345678901234567890", "NaN", "Infinity"])
def test_an_absurd_refund_amount_in_admin_is_a_field_error_and_refunds_nothing(staff, api, stripe_emulator, ready_cart, make_variant, amount):
    desk = make_variant("DESK-1", price="300.00", on_hand=3)
    cart = ready_cart({desk: 1})
    assert api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method()}).status_code == 200
    order = Order.objects.get(cart=cart)

    response = staff.post(reverse("admin:orders_order_refund", args=[order.pk]), {"amount": amount, "reason": "requested_by_customer"})

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["amount"]
    assert Refund.objects.count() == 0
    order.refresh_from_db()
    assert order.payment_status == "paid"
