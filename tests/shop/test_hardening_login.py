"""Password guessing (issue 12): login POSTs to /accounts/login/ and /admin/login/ are
limited per client (LOGIN_RATE_LIMIT) and per account name typed, from any number of
clients (LOGIN_ACCOUNT_RATE_LIMIT). Past a limit the 429 page answers and the password
is not even checked, right or wrong. Counted in the cache (Redis in production: one
count for every web process; the last test runs against the real Redis).

Before issue 12 /admin/login/ had no limit, and nothing limited guesses at one account
from many addresses."""
from __future__ import annotations

import uuid

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client
from pytest_django.asserts import assertContains

pytestmark = pytest.mark.django_db

PASSWORD = "pw-right-one-1"


@pytest.fixture
def ada(db):
    user = get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD, is_staff=True, is_superuser=True)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def _shop_login(client: Client, password: str, email: str = "ada@example.com", **extra):
    return client.post("/accounts/login/", {"login": email, "password": password}, **extra)


def _admin_login(client: Client, password: str, username: str = "ada", **extra):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, **extra)


def test_guesses_from_one_client_stop_at_its_limit_on_both_login_pages(settings, ada):
    settings.LOGIN_RATE_LIMIT = "3/m"
    settings.LOGIN_ACCOUNT_RATE_LIMIT = "100/m"
    browser = Client(REMOTE_ADDR="198.51.100.7")

    guesses = [_shop_login(browser, f"wrong-{n}", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(2)]
    admin_guess = _admin_login(browser, "wrong-admin")
    refused_shop = _shop_login(browser, PASSWORD)
    refused_admin = _admin_login(browser, PASSWORD)

    assert guesses == [200, 200] and admin_guess.status_code == 200  # the forms again, with their error
    assertContains(refused_shop, "Too many requests", status_code=429)
    assertContains(refused_admin, "Too many requests", status_code=429)
    assert "_auth_user_id" not in browser.session  # even the right password was not tried
    other = Client(REMOTE_ADDR="198.51.100.8")
    assert _admin_login(other, PASSWORD).status_code == 302


def test_guesses_at_one_account_from_many_clients_stop_at_its_limit(settings, ada):
    settings.LOGIN_RATE_LIMIT = "100/m"
    settings.LOGIN_ACCOUNT_RATE_LIMIT = "3/15m"

    statuses = [
        _admin_login(Client(REMOTE_ADDR=f"198.51.100.{n}"), "wrong", username="ADA " if n % 2 else "ada").status_code
        for n in range(1, 4)
    ]
    refused = _shop_login(Client(REMOTE_ADDR="198.51.100.50"), PASSWORD, email="ada")

    assert statuses == [200, 200, 200]
    assertContains(refused, "Too many requests", status_code=429)
    assert int(refused["Retry-After"]) >= 1
    # Another account is not held back.
    get_user_model().objects.create_user("bob", "bob@example.com", PASSWORD, is_staff=True)
    assert _admin_login(Client(REMOTE_ADDR="198.51.100.51"), PASSWORD, username="bob").status_code == 302


def test_login_page_itself_is_not_limited(settings, ada):
    settings.LOGIN_RATE_LIMIT = "1/m"
    browser = Client()

    assert [browser.get("/accounts/login/").status_code for _ in range(3)] == [200, 200, 200]
    assert browser.get("/admin/login/").status_code == 200


def test_counts_are_kept_in_redis_for_every_web_process(settings, ada):
    """The production cache on the real Redis (a database of its own, a prefix per run):
    the counts are Redis keys, which every web process reads and writes."""
    from django.core.cache import caches

    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "shop.cache.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:6379/14",
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    settings.LOGIN_RATE_LIMIT = "2/m"
    settings.LOGIN_ACCOUNT_RATE_LIMIT = "100/m"
    if not caches["default"].available():
        pytest.fail("Redis at 127.0.0.1:6379 is needed for this test (DESIGN: rate limits live in Redis).")

    assert _admin_login(Client(REMOTE_ADDR="198.51.100.7"), "wrong").status_code == 200
    assert _admin_login(Client(REMOTE_ADDR="198.51.100.7"), "wrong").status_code == 200
    stored = [key for key in caches["default"]._cache.get_client().keys(f"{settings.CACHES['default']['KEY_PREFIX']}:*")]
    assert stored, "the count is a Redis key"
    assert _admin_login(Client(REMOTE_ADDR="198.51.100.7"), PASSWORD).status_code == 429
