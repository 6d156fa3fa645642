"""TRUSTED_PROXY_COUNT (docs/operations.md, "Limits and security settings"): who the client
is for every rate limit. With 0 (the default) X-Forwarded-For is ignored, so a client
cannot get a fresh API budget by sending its own; with N proxies in front, the entry the
outermost of them added names the client, whatever the client put before it.

Before issue 12, DRF's throttles took the whole X-Forwarded-For header as the client
(NUM_PROXIES unset): a new header per request was a new client, never throttled."""
from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings

from shop.client_ip import client_ip, client_key

pytestmark = pytest.mark.django_db

LOW_API_RATES = {"anon": "3/minute", "user": "3/minute", "checkout": "3/minute"}


def _request(remote: str = "198.51.100.7", forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    "count, forwarded, expected",
    [
        (0, None, "198.51.100.7"),
        (0, "203.0.113.1", "198.51.100.7"),  # ignored
        (0, "203.0.113.1, 203.0.113.2", "198.51.100.7"),
        (1, None, "198.51.100.7"),  # came straight in: the peer
        (1, "203.0.113.1", "203.0.113.1"),
        (1, "6.6.6.6, 203.0.113.1", "203.0.113.1"),  # what the client wrote itself is not believed
        (2, "6.6.6.6, 203.0.113.1, 10.0.0.2", "203.0.113.1"),
        (2, "203.0.113.1", "203.0.113.1"),  # passed one proxy only: the entry it added
        (1, "not-an-address", "198.51.100.7"),
        (1, "[2001:db8::1]", "2001:db8::1"),
        (1, "203.0.113.1:4711", "203.0.113.1"),
    ],
)
def test_client_ip_believes_only_the_entries_the_trusted_proxies_added(count, forwarded, expected):
    with override_settings(TRUSTED_PROXY_COUNT=count):
        assert client_ip(_request(forwarded=forwarded)) == expected


def test_rate_limit_key_of_an_ipv6_client_is_its_slash_64():
    first = client_key(_request(remote="2001:db8:1:2:aaaa::1"))
    second = client_key(_request(remote="2001:db8:1:2:bbbb::2"))

    assert first == second == "2001:db8:1:2::/64"
    assert client_key(_request(remote="2001:db8:1:3::1")) != first


def _product_list(api, remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return api.get("/api/v1/currencies/", **extra)


def test_own_x_forwarded_for_does_not_dodge_the_api_throttle(api, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": LOW_API_RATES}
    statuses = [
        _product_list(api, "198.51.100.7", forwarded=f"203.0.113.{n}").status_code for n in range(1, 6)
    ]

    assert statuses == [200, 200, 200, 429, 429]
    refused = _product_list(api, "198.51.100.7", forwarded="203.0.113.99")
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    # Another client (another peer address) has its own budget.
    assert _product_list(api, "198.51.100.8").status_code == 200


def test_behind_one_proxy_each_client_has_its_own_budget_and_cannot_forge_another(api, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": LOW_API_RATES}
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"  # every request arrives from the load balancer

    ada = [_product_list(api, proxy, forwarded=f"{n}.{n}.{n}.{n}, 203.0.113.1").status_code for n in range(1, 5)]
    bob = _product_list(api, proxy, forwarded="203.0.113.2").status_code

    assert ada == [200, 200, 200, 429]  # her forged first entries changed nothing
    assert bob == 200


def test_checkout_throttle_counts_the_same_client(api, settings, make_variant, make_cart):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**LOW_API_RATES, "anon": "1000/minute"}}
    cart = make_cart({make_variant(on_hand=5): 1})
    url = f"/api/v1/carts/{cart.pk}/checkout/"

    statuses = [api.post(url, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_allauth_counts_the_same_client(settings):
    from allauth.account.adapter import get_adapter

    settings.TRUSTED_PROXY_COUNT = 0
    assert get_adapter().get_client_ip(_request(forwarded="203.0.113.1")) == "198.51.100.7"
    settings.TRUSTED_PROXY_COUNT = 2
    # Fewer entries than proxies (allauth's own reading refuses with ImproperlyConfigured).
    assert get_adapter().get_client_ip(_request(forwarded="203.0.113.1")) == "203.0.113.1"
    assert get_adapter().get_client_ip(_request(forwarded="6.6.6.6, 203.0.113.1, 10.0.0.2")) == "203.0.113.1"
