"""The catalog part of docs/api.md: products, pagination, prices, availability, currencies,
the schema, unknown routes, the error shape and rate limiting."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from cart.models import Cart
from catalog.models import Product
from tests.support.api_helpers import assert_error
from checkout import services as checkout_services


def test_product_has_the_documented_shape_and_money_format(api, make_variant):
    product = Product.objects.create(slug="linen-shirt", name="Linen shirt", description="Washed linen.")
    make_variant("LINEN-M", price="19.99", on_hand=10, threshold=3, product=product, size="M")

    response = api.get("/api/v1/products/linen-shirt/")

    assert response.status_code == 200
    body = response.json()
    assert {"slug", "name", "description", "variants"} <= set(body)
    assert (body["slug"], body["name"], body["description"]) == ("linen-shirt", "Linen shirt", "Washed linen.")
    (variant,) = body["variants"]
    assert {"sku", "name", "attributes", "price", "available", "availability"} <= set(variant)
    assert variant["sku"] == "LINEN-M"
    assert variant["attributes"] == {"size": "M"}
    assert variant["price"] == {"amount": "19.99", "currency": "USD"}
    assert variant["available"] == 10
    assert variant["availability"] == "in_stock"


def test_whole_dollar_price_keeps_two_decimals(api, make_variant):
    variant = make_variant(price="20")

    response = api.get(f"/api/v1/products/{variant.product.slug}/")

    assert response.json()["variants"][0]["price"] == {"amount": "20.00", "currency": "USD"}


@pytest.mark.parametrize(
    "price, currency, amount",
    [
        ("19.99", "EUR", "17.99"),  # 19.99 x 0.9 = 17.991
        ("19.99", "JPY", "3023"),  # 19.99 x 151.237 = 3023.22763: no minor units
        ("10.00", "KWD", "3.070"),  # 10.00 x 0.30701 = 3.0701: three minor units, trailing zero kept
    ],
)
def test_prices_are_converted_and_rounded_to_the_currency_minor_units(api, make_variant, fixed_rates, price, currency, amount):
    variant = make_variant(price=price)

    detail = api.get(f"/api/v1/products/{variant.product.slug}/?currency={currency}")
    listing = api.get(f"/api/v1/products/?currency={currency.lower()}")

    assert detail.json()["variants"][0]["price"] == {"amount": amount, "currency": currency}
    assert listing.json()["results"][0]["variants"][0]["price"] == {"amount": amount, "currency": currency}


def test_half_cent_rounds_up(api, make_variant, fixed_rates):
    variant = make_variant(price="0.05")  # 0.05 x 0.9 = 0.045 -> 0.05 half-up

    response = api.get(f"/api/v1/products/{variant.product.slug}/?currency=EUR")

    assert response.json()["variants"][0]["price"] == {"amount": "0.05", "currency": "EUR"}


@pytest.mark.parametrize("query", ["?currency=XYZ", "?currency=", "?currency=usdollar"])
def test_unsupported_currency_on_products_is_400(api, make_variant, query):
    variant = make_variant()

    for path in ("/api/v1/products/", f"/api/v1/products/{variant.product.slug}/"):
        error = assert_error(api.get(path + query), 400, "unsupported_currency")
        assert "currency" in error["details"]


def test_products_are_paginated_twenty_per_page(api):
    for n in range(21):
        Product.objects.create(slug=f"product-{n:02d}", name=f"Product {n:02d}")

    first = api.get("/api/v1/products/")
    second = api.get("/api/v1/products/?page=2")

    assert first.status_code == second.status_code == 200
    page1, page2 = first.json(), second.json()
    assert set(page1) == {"count", "next", "previous", "results"}
    assert page1["count"] == page2["count"] == 21
    assert len(page1["results"]) == 20 and len(page2["results"]) == 1
    assert page1["previous"] is None and "page=2" in page1["next"]
    assert page2["next"] is None and page2["previous"] is not None
    slugs = [p["slug"] for p in page1["results"] + page2["results"]]
    assert sorted(slugs) == sorted(f"product-{n:02d}" for n in range(21))


def test_next_link_keeps_the_currency(api, fixed_rates):
    for n in range(21):
        Product.objects.create(slug=f"product-{n:02d}", name=f"Product {n:02d}")

    page1 = api.get("/api/v1/products/?currency=EUR").json()

    assert "currency=EUR" in page1["next"] and "page=2" in page1["next"]


@pytest.mark.parametrize("page", ["3", "0", "-1", "abc", "1.5"])
def test_invalid_page_is_404_not_found(api, page):
    for n in range(21):
        Product.objects.create(slug=f"product-{n:02d}", name=f"Product {n:02d}")

    assert_error(api.get(f"/api/v1/products/?page={page}"), 404, "not_found")


def test_inactive_products_and_variants_are_not_listed(api, make_variant):
    hidden = make_variant()
    Product.objects.filter(pk=hidden.product_id).update(is_active=False)
    shown = make_variant()
    retired = make_variant(product=shown.product)
    retired.is_active = False
    retired.save()

    body = api.get("/api/v1/products/").json()

    assert [p["slug"] for p in body["results"]] == [shown.product.slug]
    assert [v["sku"] for v in body["results"][0]["variants"]] == [shown.sku]
    assert_error(api.get(f"/api/v1/products/{hidden.product.slug}/"), 404, "not_found")


def test_unknown_product_is_404_not_found(api, db):
    assert_error(api.get("/api/v1/products/no-such-product/"), 404, "not_found")


def test_available_is_on_hand_minus_live_reservations(api, make_variant, make_cart):
    variant = make_variant(on_hand=10, threshold=2)
    live = make_cart({variant: 3})
    stale = make_cart({variant: 4})
    checkout_services.start_checkout(cart_id=live.pk)
    # A reservation past its time that no sweeper has released yet still blocks nothing.
    checkout_services.start_checkout(cart_id=stale.pk, now=timezone.now() - timedelta(minutes=10))

    body = api.get(f"/api/v1/products/{variant.product.slug}/").json()

    assert body["variants"][0]["available"] == 7
    assert body["variants"][0]["availability"] == "in_stock"


@pytest.mark.parametrize(
    "on_hand, reserved, threshold, available, status",
    [
        (10, 0, 3, 10, "in_stock"),
        (4, 0, 3, 4, "in_stock"),
        (3, 0, 3, 3, "low_stock"),
        (5, 4, 3, 1, "low_stock"),
        (5, 5, 3, 0, "out_of_stock"),
        (0, 0, 3, 0, "out_of_stock"),
    ],
)
def test_availability_status_follows_the_threshold(api, make_variant, make_cart, on_hand, reserved, threshold, available, status):
    variant = make_variant(on_hand=on_hand, threshold=threshold)
    if reserved:
        checkout_services.start_checkout(cart_id=make_cart({variant: reserved}).pk)

    body = api.get(f"/api/v1/products/{variant.product.slug}/").json()

    assert (body["variants"][0]["available"], body["variants"][0]["availability"]) == (available, status)


def test_currencies_lists_usd_as_base(api, db):
    response = api.get("/api/v1/currencies/")

    assert response.status_code == 200
    body = response.json()
    assert body["base"] == "USD"
    assert body["currencies"], "at least the base currency"
    for entry in body["currencies"]:
        assert {"code", "rate", "updated_at"} <= set(entry)
    usd = next(entry for entry in body["currencies"] if entry["code"] == "USD")
    assert Decimal(usd["rate"]) == 1


def test_openapi_schema_is_served(api, db):
    response = api.get("/api/v1/schema/")

    assert response.status_code == 200
    assert b"/api/v1/carts/{cart_id}/checkout/" in response.content
    assert b"/api/v1/products/" in response.content


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/nothing-here/"),
        ("get", "/api/v1/nothing-here"),
        ("post", "/api/v1/nothing-here/"),
        ("get", "/api/v1/products/linen-shirt/variants/"),
        ("get", "/api/v1/products/not a slug/"),
    ],
)
def test_unknown_routes_answer_404_in_the_error_shape(api, db, method, path):
    assert_error(getattr(api, method)(path), 404, "not_found")


def test_unknown_routes_answer_json_even_with_debug_on(api, db, settings):
    settings.DEBUG = True

    assert_error(api.get("/api/v1/nothing-here/"), 404, "not_found")


def test_a_get_without_the_trailing_slash_redirects_keeping_the_query(api, db):
    response = api.get("/api/v1/products?currency=USD&page=1")

    assert response.status_code == 308
    assert response["Location"] == "/api/v1/products/?currency=USD&page=1"


def test_a_post_without_the_trailing_slash_is_redirected_as_a_post(api, db):
    response = api.post("/api/v1/carts", {})

    assert response.status_code == 308  # unlike APPEND_SLASH's 301, clients repeat it as a POST
    assert response["Location"] == "/api/v1/carts/"
    assert not Cart.objects.exists()


def test_a_method_a_route_does_not_have_is_405_in_the_error_shape(api, db):
    response = api.get("/api/v1/carts/")

    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


@pytest.fixture
def throttle_rates(settings):
    """throttle_rates(anon="2/minute", ...) overrides DRF's rates; the counters (in the
    cache) start from zero and are cleared afterwards."""

    def override(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }
        cache.clear()

    yield override
    cache.clear()


def test_rate_limit_answers_429_rate_limited(api, db, throttle_rates):
    throttle_rates(anon="2/minute")

    statuses = [api.get("/api/v1/products/").status_code for _ in range(2)]
    limited = api.get("/api/v1/products/")

    assert statuses == [200, 200]
    assert_error(limited, 429, "rate_limited")
    assert int(limited["Retry-After"]) >= 1


def test_checkout_has_its_own_rate_limit(api, make_variant, make_cart, throttle_rates):
    throttle_rates(checkout="1/minute")
    cart = make_cart({make_variant(): 1})

    first = api.post(f"/api/v1/carts/{cart.pk}/checkout/")
    second = api.post(f"/api/v1/carts/{cart.pk}/checkout/")

    assert first.status_code == 200
    assert_error(second, 429, "rate_limited")


def test_an_unexpected_error_is_a_logged_500_in_the_error_shape(api, db, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("cart.services.create_cart", broken)

    response = api.post("/api/v1/carts/", {})

    error = assert_error(response, 500, "server_error")
    assert "database on fire" not in error["message"]
    assert any(record.name == "django.request" and record.exc_info for record in caplog.records)
