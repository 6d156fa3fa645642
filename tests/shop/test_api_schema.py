"""The OpenAPI schema at /api/v1/schema/ generates cleanly, and real responses of every
documented endpoint validate against the schema documented for their path, method and
status, so the docs cannot drift from the code unnoticed."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import jsonschema
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from cart.models import Cart
from discounts.models import DiscountCode
from orders.models import Order
from tests.support.net import free_port
from tests.support.stripe_fixtures import ADDRESS, CARD_DECLINED
from tests.support.shipping import make_method

COMPONENTS_REF = "#/components/schemas/"
FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _iso_time_with_offset(value: object) -> bool:
    # docs/api.md: times are ISO 8601 with offset; a naive time is drift too.
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


@FORMATS.checks("uuid", raises=ValueError)
def _uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(UUID(value))


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema 2020-12: $refs into $defs, `nullable` as a null
    alternative, and objects with documented properties closed, so a field the code sends
    but the docs leave out fails as surely as a documented field the code drops."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if "$ref" in converted:
        converted["$ref"] = converted["$ref"].replace(COMPONENTS_REF, "#/$defs/")
    if "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def response_validator(openapi: dict[str, Any], path: str, method: str, status: int) -> jsonschema.Validator:
    operation = openapi["paths"][path][method]
    assert str(status) in operation["responses"], f"{method.upper()} {path} does not document status {status}"
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    document = {"$defs": _json_schema(openapi["components"]["schemas"]), **_json_schema(schema)}
    return jsonschema.Draft202012Validator(document, format_checker=FORMATS)


def assert_documented(openapi: dict[str, Any], response, path: str, method: str, status: int) -> Any:
    """The response has this status and its JSON body is what the schema documents for it."""
    assert response.status_code == status, response.content
    body = response.json()
    response_validator(openapi, path, method, status).validate(body)
    return body


def request_schema(openapi: dict[str, Any], path: str, method: str) -> jsonschema.Validator:
    schema = openapi["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({"$defs": _json_schema(openapi["components"]["schemas"]), **_json_schema(schema)})


CART = "/api/v1/carts/{cart_id}/"
LINES = "/api/v1/carts/{cart_id}/lines/"
LINE = "/api/v1/carts/{cart_id}/lines/{line_id}/"
STOCK = "/api/v1/carts/{cart_id}/stock/"
CHECKOUT = "/api/v1/carts/{cart_id}/checkout/"
PAYMENT = "/api/v1/carts/{cart_id}/payment/"


# --- the document ------------------------------------------------------------------------


def test_schema_generates_without_warnings_or_errors_and_is_valid_openapi():
    GENERATOR_STATS.reset()

    schema = SchemaGenerator().get_schema(request=None, public=True)

    assert dict(GENERATOR_STATS._warn_cache) == {}
    assert dict(GENERATOR_STATS._error_cache) == {}
    validate_schema(schema)


def test_schema_endpoint_serves_the_documented_shapes(api):
    response = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schemas = response.json()["components"]["schemas"]
    assert {"Money", "Product", "ProductPage", "Currencies", "Cart", "CartStock", "ShippingMethod", "Payment", "Order"} <= set(schemas)
    assert schemas["Money"]["required"] == ["amount", "currency"]


def test_every_documented_error_status_has_the_error_shape_with_its_codes(openapi):
    error_codes = {
        "400": {"invalid", "unsupported_currency", "checkout_incomplete", "discount_not_applicable"},
        "402": {"payment_failed"},
        "404": {"not_found"},
        "409": {
            "insufficient_stock", "cart_not_active", "cart_not_in_checkout", "reservation_expired", "discount_unavailable",
            "order_not_cancellable",
        },
        "429": {"rate_limited"},
        "502": {"payment_provider_unavailable"},
    }
    components = openapi["components"]["schemas"]
    seen = set()
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            assert "429" in operation["responses"], f"{method} {path}"
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    continue
                error = components[response["content"]["application/json"]["schema"]["$ref"].removeprefix(COMPONENTS_REF)]
                assert error["required"] == ["error"]
                body = components[error["properties"]["error"]["$ref"].removeprefix(COMPONENTS_REF)]
                assert set(body["required"]) == {"code", "message", "details"}
                code = components[body["properties"]["code"]["$ref"].removeprefix(COMPONENTS_REF)]
                assert set(code["enum"]) == error_codes[status]
                seen.add(status)
    assert seen == set(error_codes)


def test_request_bodies_are_documented(openapi):
    assert request_schema(openapi, "/api/v1/carts/", "post").is_valid({"currency": "EUR"})
    assert request_schema(openapi, "/api/v1/carts/", "post").is_valid({})
    assert request_schema(openapi, CART, "patch").is_valid({"discount_code": ""})
    assert not request_schema(openapi, CART, "patch").is_valid({"discount_code": 10})
    assert request_schema(openapi, LINES, "post").is_valid({"sku": "SHIRT-M", "quantity": 2})
    assert not request_schema(openapi, LINES, "post").is_valid({"sku": "SHIRT-M", "quantity": 100})
    assert not request_schema(openapi, LINE, "patch").is_valid({})
    assert request_schema(openapi, CHECKOUT, "patch").is_valid({"email": "ada@example.com", "shipping_address": ADDRESS})
    assert not request_schema(openapi, CHECKOUT, "patch").is_valid({"shipping_address": {"name": "Ada"}})
    assert request_schema(openapi, PAYMENT, "post").is_valid({"payment_method": "pm_card_visa"})


def test_validation_catches_a_field_missing_or_added(openapi):
    """The guard itself: drift either way fails."""
    validator = response_validator(openapi, "/api/v1/currencies/", "get", 200)
    body = {"base": "USD", "currencies": [{"code": "EUR", "rate": "0.9", "updated_at": "2026-01-01T00:00:00+00:00", "stale": False}]}
    validator.validate(body)

    missing = copy.deepcopy(body)
    del missing["currencies"][0]["rate"]
    added = copy.deepcopy(body)
    added["currencies"][0]["symbol"] = "€"
    naive_time = copy.deepcopy(body)
    naive_time["currencies"][0]["updated_at"] = "2026-01-01T00:00:00"

    for drifted in (missing, added, naive_time):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(drifted)


# --- real responses -------------------------------------------------------------------


@pytest.fixture
def shirt(make_variant):
    return make_variant("SHIRT-M", price="25.00", on_hand=5, size="M")


def test_catalog_responses_match_the_schema(api, openapi, fixed_rates, shirt, make_variant):
    make_variant(price="3.00", on_hand=0)

    page = assert_documented(openapi, api.get("/api/v1/products/?currency=EUR"), "/api/v1/products/", "get", 200)
    product = assert_documented(
        openapi, api.get(f"/api/v1/products/{shirt.product.slug}/?currency=KWD"), "/api/v1/products/{slug}/", "get", 200
    )
    assert_documented(openapi, api.get("/api/v1/currencies/"), "/api/v1/currencies/", "get", 200)

    assert page["count"] == 2
    listed_shirt = next(p for p in page["results"] if p["slug"] == shirt.product.slug)
    assert listed_shirt["variants"][0]["price"] == {"amount": "22.50", "currency": "EUR"}
    assert product["variants"][0]["price"]["currency"] == "KWD" and len(product["variants"][0]["price"]["amount"].split(".")[1]) == 3
    assert_documented(openapi, api.get("/api/v1/products/?currency=XXX"), "/api/v1/products/", "get", 400)
    assert_documented(openapi, api.get("/api/v1/products/?page=9"), "/api/v1/products/", "get", 404)
    assert_documented(openapi, api.get("/api/v1/products/no-such/"), "/api/v1/products/{slug}/", "get", 404)


def test_cart_and_checkout_responses_match_the_schema(api, openapi, fixed_rates, shirt, make_variant):
    make_method(code="express", name="Express", price="7.50")
    socks = make_variant("SOCKS", price="4.00", on_hand=3)

    cart = assert_documented(openapi, api.post("/api/v1/carts/", {"currency": "EUR"}), "/api/v1/carts/", "post", 201)
    cart_id = cart["id"]
    assert_documented(openapi, api.post(f"/api/v1/carts/{cart_id}/lines/", {"sku": "SOCKS", "quantity": 1}), LINES, "post", 201)
    cart = assert_documented(openapi, api.post(f"/api/v1/carts/{cart_id}/lines/", {"sku": "SHIRT-M", "quantity": 2}), LINES, "post", 201)
    socks_line = next(line["id"] for line in cart["lines"] if line["sku"] == socks.sku)
    assert_documented(openapi, api.patch(f"/api/v1/carts/{cart_id}/lines/{socks_line}/", {"quantity": 2}), LINE, "patch", 200)
    assert_documented(openapi, api.delete(f"/api/v1/carts/{cart_id}/lines/{socks_line}/"), LINE, "delete", 200)
    assert_documented(openapi, api.patch(f"/api/v1/carts/{cart_id}/", {"currency": "USD"}), CART, "patch", 200)
    assert_documented(openapi, api.get(f"/api/v1/carts/{cart_id}/"), CART, "get", 200)
    stock = assert_documented(openapi, api.get(f"/api/v1/carts/{cart_id}/stock/"), STOCK, "get", 200)
    assert_documented(openapi, api.get(f"/api/v1/shipping-methods/?cart={cart_id}"), "/api/v1/shipping-methods/", "get", 400)

    started = assert_documented(openapi, api.post(f"/api/v1/carts/{cart_id}/checkout/"), CHECKOUT, "post", 200)
    updated = assert_documented(
        openapi,
        api.patch(
            f"/api/v1/carts/{cart_id}/checkout/",
            {
                "email": "ada@example.com",
                "shipping_address": ADDRESS,
                "billing_address": {**ADDRESS, "line2": "Flat 2", "region": "Westminster"},
                "shipping_method": "express",
            },
        ),
        CHECKOUT,
        "patch",
        200,
    )
    methods = assert_documented(
        openapi, api.get(f"/api/v1/shipping-methods/?cart={cart_id}"), "/api/v1/shipping-methods/", "get", 200
    )
    DiscountCode.objects.create(code="SAVE5", kind="fixed", value="5.00")
    discounted = assert_documented(openapi, api.patch(f"/api/v1/carts/{cart_id}/", {"discount_code": "SAVE5"}), CART, "patch", 200)
    assert_documented(openapi, api.patch(f"/api/v1/carts/{cart_id}/", {"discount_code": "NOPE"}), CART, "patch", 400)
    cancelled = assert_documented(openapi, api.delete(f"/api/v1/carts/{cart_id}/checkout/"), CHECKOUT, "delete", 200)

    assert discounted["total"] == {"amount": "52.50", "currency": "USD"}
    assert stock == {"items": [{"sku": "SHIRT-M", "requested": 2, "available": 5, "status": "in_stock"}]}
    assert {"code": "express", "name": "Express", "price": {"amount": "7.50", "currency": "USD"}}.items() <= methods[0].items()
    assert started["status"] == "checkout" and started["reservation_expires_at"] is not None
    assert updated["total"] == {"amount": "57.50", "currency": "USD"}
    assert cancelled["status"] == "active" and cancelled["reservation_expires_at"] is None


def test_cart_error_responses_match_the_schema(api, openapi, fixed_rates, shirt):
    cart_id = api.post("/api/v1/carts/").json()["id"]
    lines = f"/api/v1/carts/{cart_id}/lines/"

    assert_documented(openapi, api.post("/api/v1/carts/", {"currency": "XXX"}), "/api/v1/carts/", "post", 400)
    assert_documented(openapi, api.get("/api/v1/carts/not-a-cart/"), CART, "get", 404)
    assert_documented(openapi, api.post(lines, {"sku": "NO-SUCH", "quantity": 1}), LINES, "post", 400)
    assert_documented(openapi, api.post(lines, {"sku": "SHIRT-M", "quantity": 100}), LINES, "post", 400)
    insufficient = assert_documented(openapi, api.post(lines, {"sku": "SHIRT-M", "quantity": 6}), LINES, "post", 409)
    assert_documented(openapi, api.post(f"/api/v1/carts/{cart_id}/checkout/"), CHECKOUT, "post", 400)  # empty cart
    assert_documented(openapi, api.patch(f"/api/v1/carts/{cart_id}/lines/999999/", {"quantity": 1}), LINE, "patch", 404)
    assert_documented(openapi, api.get("/api/v1/shipping-methods/?cart=not-a-cart"), "/api/v1/shipping-methods/", "get", 404)
    api.post(lines, {"sku": "SHIRT-M", "quantity": 1})
    api.post(f"/api/v1/carts/{cart_id}/checkout/")
    not_active = assert_documented(openapi, api.patch(f"/api/v1/carts/{cart_id}/", {"currency": "EUR"}), CART, "patch", 409)
    Cart.objects.filter(pk=cart_id).update(reservation_expires_at=timezone.now() - timedelta(seconds=1))
    email = {"email": "ada@example.com"}
    expired = assert_documented(openapi, api.patch(f"/api/v1/carts/{cart_id}/checkout/", email), CHECKOUT, "patch", 409)
    api.delete(f"/api/v1/carts/{cart_id}/checkout/")
    not_in_checkout = assert_documented(openapi, api.patch(f"/api/v1/carts/{cart_id}/checkout/", email), CHECKOUT, "patch", 409)
    incomplete = assert_documented(openapi, api.post(f"/api/v1/carts/{cart_id}/payment/", {}), PAYMENT, "post", 409)

    assert insufficient["error"]["details"] == {"items": [{"sku": "SHIRT-M", "requested": 6, "available": 5}]}
    codes = [error["error"]["code"] for error in (not_active, expired, not_in_checkout, incomplete)]
    assert codes == ["cart_not_active", "reservation_expired", "cart_not_in_checkout", "cart_not_in_checkout"]


def test_rate_limited_response_matches_the_schema(api, openapi, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "1/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}

    api.get("/api/v1/currencies/")
    limited = assert_documented(openapi, api.get("/api/v1/currencies/"), "/api/v1/currencies/", "get", 429)

    assert limited["error"]["code"] == "rate_limited"


def test_payment_and_order_responses_match_the_schema(api, openapi, stripe_emulator, ready_cart, shirt, settings):
    customer = get_user_model().objects.create_user("ada", "ada@example.com", "pw")
    incomplete_cart = api.post("/api/v1/carts/").json()["id"]
    api.post(f"/api/v1/carts/{incomplete_cart}/lines/", {"sku": "SHIRT-M", "quantity": 1})
    api.post(f"/api/v1/carts/{incomplete_cart}/checkout/")
    cart = ready_cart({shirt: 2})
    Cart.objects.filter(pk=cart.pk).update(user=customer)
    payment = f"/api/v1/carts/{cart.pk}/payment/"

    incomplete = assert_documented(
        openapi, api.post(f"/api/v1/carts/{incomplete_cart}/payment/", {}), PAYMENT, "post", 400
    )
    intent = assert_documented(openapi, api.post(payment, {}), PAYMENT, "post", 200)
    declined_card = {"payment_method": stripe_emulator.payment_method(CARD_DECLINED)}
    declined = assert_documented(openapi, api.post(payment, declined_card), PAYMENT, "post", 402)
    card = stripe_emulator.payment_method()
    stripe_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    unreachable = assert_documented(openapi, api.post(payment, {"payment_method": card}), PAYMENT, "post", 502)
    settings.STRIPE_API_BASE = stripe_base
    paid = assert_documented(openapi, api.post(payment, {"payment_method": card}), PAYMENT, "post", 200)
    completed = assert_documented(openapi, api.get(f"/api/v1/carts/{cart.pk}/"), CART, "get", 200)
    order = assert_documented(openapi, api.get(completed["order"]["url"]), "/api/v1/orders/{number}/", "get", 200)
    assert_documented(openapi, api.get(f"/api/v1/orders/{order['number']}/"), "/api/v1/orders/{number}/", "get", 404)
    api.force_login(customer)
    orders = assert_documented(openapi, api.get("/api/v1/orders/"), "/api/v1/orders/", "get", 200)

    assert incomplete["error"]["code"] == "checkout_incomplete"
    assert intent["status"] == "requires_payment_method" and intent["amount"] == {"amount": "50.00", "currency": "USD"}
    assert declined["error"]["code"] == "payment_failed"
    assert unreachable["error"]["code"] == "payment_provider_unavailable"
    assert paid["cart"]["status"] == "completed" and paid["cart"]["order"]["number"] == order["number"]
    assert order["total"] == {"amount": "50.00", "currency": "USD"} and order["number"] == Order.objects.get(cart=cart).number
    assert [o["number"] for o in orders] == [order["number"]]
