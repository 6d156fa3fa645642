"""Redis down with REDIS_URL set: the shop keeps selling (issue 12). The cache is the
production one (shop.cache.ResilientRedisCache, as shop.settings configures it for
REDIS_URL) pointed at a port where nothing listens; sessions are in the database. Every
API call, login, the currency switch and add-to-cart work; rate limits are not applied
(they cannot be counted) and a warning says why; a refused add leaves no cart behind.

Before issue 12 each of these answered 500: RedisCache raised ConnectionError and the
cached_db session store failed to save, after the add-to-cart had created its cart."""
from __future__ import annotations

import logging

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client

from cart.models import Cart
from cart.session import SESSION_KEY
from currencies.choice import SESSION_KEY as CURRENCY_SESSION_KEY
from tests.support.net import free_port
from tests.support.pages import add_to_cart, session_cart

pytestmark = pytest.mark.django_db

PASSWORD = "pw-redis-down-1"


@pytest.fixture
def redis_down(settings, caplog):
    """The production cache configuration, its Redis unreachable, and every limit low
    enough that a single request past the first would be refused if it were counted."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "shop.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            "RETRY_SECONDS": 5.0,
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1/minute", "user": "1/minute", "checkout": "1/minute"},
    }
    settings.CHECKOUT_START_RATE_LIMIT = settings.ADD_TO_CART_RATE_LIMIT = settings.CHECKOUT_FORM_RATE_LIMIT = "1/m"
    settings.LOGIN_RATE_LIMIT = settings.LOGIN_ACCOUNT_RATE_LIMIT = "1/m"
    caplog.set_level(logging.WARNING, logger="shop.cache")
    return caplog


def _warned(caplog) -> bool:
    records = caplog.get_records("setup") + caplog.records  # the first failure may be a fixture's
    return any(r.name == "shop.cache" and r.levelno == logging.WARNING and "Cache unavailable" in r.getMessage() for r in records)


def test_every_api_call_of_a_sale_works(redis_down, api, make_variant, known_rates):
    variant = make_variant(on_hand=5)

    assert api.get("/api/v1/currencies/").status_code == 200
    assert api.get("/api/v1/products/?currency=EUR").status_code == 200
    assert api.get(f"/api/v1/products/{variant.product.slug}/").status_code == 200
    created = api.post("/api/v1/carts/", {"currency": "EUR"})
    assert created.status_code == 201, created.content
    cart_id = created.json()["id"]
    added = api.post(f"/api/v1/carts/{cart_id}/lines/", {"sku": variant.sku, "quantity": 2})
    assert added.status_code == 201, added.content
    assert api.post(f"/api/v1/carts/{cart_id}/lines/", {"sku": variant.sku, "quantity": 1}).status_code == 201
    assert api.patch(f"/api/v1/carts/{cart_id}/", {"currency": "USD"}).status_code == 200
    started = api.post(f"/api/v1/carts/{cart_id}/checkout/")
    assert started.status_code == 200, started.content
    assert api.post(f"/api/v1/carts/{cart_id}/checkout/").status_code == 200  # again: extends
    assert api.get(f"/api/v1/carts/{cart_id}/").json()["status"] == "checkout"
    assert api.delete(f"/api/v1/carts/{cart_id}/checkout/").json()["status"] == "active"

    assert Cart.objects.get(pk=cart_id).lines.get().quantity == 3
    assert _warned(redis_down)


def test_login_currency_switch_and_add_to_cart_pages_work(redis_down, shirt_sizes, known_rates):
    ada = get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)
    EmailAddress.objects.create(user=ada, email=ada.email, verified=True, primary=True)
    browser = Client()

    assert browser.get("/").status_code == 200
    switched = browser.post("/currency/", {"currency": "EUR", "next": "/"})
    assert switched.status_code == 302 and browser.session[CURRENCY_SESSION_KEY] == "EUR"
    first = add_to_cart(browser, "linen-shirt", "SHIRT-S", "2")
    second = add_to_cart(browser, "linen-shirt", "SHIRT-S", "1")
    assert first.status_code == second.status_code == 302
    cart = session_cart(browser)
    assert list(cart.lines.values_list("variant__sku", "quantity")) == [("SHIRT-S", 3)]
    assert cart.currency == "EUR"
    assert browser.get("/cart/").status_code == 200
    login = browser.post("/accounts/login/", {"login": "ada@example.com", "password": PASSWORD})
    assert login.status_code == 302, login.content[:2000]
    assert int(browser.session["_auth_user_id"]) == ada.pk
    assert Cart.objects.get(pk=cart.pk).user_id == ada.pk  # the session cart became hers
    assert _warned(redis_down)


def test_staff_can_log_into_the_admin(redis_down):
    get_user_model().objects.create_user("staff", "staff@example.com", PASSWORD, is_staff=True, is_superuser=True)
    browser = Client()

    for _ in range(2):  # a second login too: the login limits are not counted
        response = browser.post("/admin/login/?next=/admin/", {"username": "staff", "password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == "/admin/"
    assert browser.get("/admin/").status_code == 200


def test_a_refused_add_to_cart_leaves_no_cart(redis_down, shirt_sizes):
    browser = Client()

    refused = add_to_cart(browser, "linen-shirt", "SHIRT-L", "1")  # none in stock

    assert refused.status_code == 409
    assert Cart.objects.count() == 0
    assert SESSION_KEY not in browser.session
    added = add_to_cart(browser, "linen-shirt", "SHIRT-S", "1")
    assert added.status_code == 302
    assert Cart.objects.count() == 1 and session_cart(browser) is not None
