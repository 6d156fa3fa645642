"""How long and how often one client may hold stock (issue 12):

- a checkout holds its stock for CHECKOUT_MAX_HOLD at most: activity, starting again
  while live and asking for payment extend the reservation up to that deadline and no
  further; then it runs out and the shopper must start again (a new hold);
- each client (shop.client_ip) may start CHECKOUT_START_RATE_LIMIT checkouts (new holds;
  calling start again on a live checkout is not one): past it the API answers 429
  `rate_limited` with Retry-After, the pages a 429 with the reason, and nothing is held;
- the add-to-cart and checkout forms are limited per client (ADD_TO_CART_RATE_LIMIT,
  CHECKOUT_FORM_RATE_LIMIT): past it, the 429 page and the form's action does not run.

Before issue 12 calling checkout again extended the hold forever, starts were unlimited
and the forms had no limit at all."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains

from cart import services as cart_services
from cart.models import Cart
from checkout import services as checkout_services
from checkout.reservations import keep_reservation_alive
from inventory.models import Reservation
from shop.errors import ReservationExpired
from tests.support.api_helpers import assert_error
from tests.support.pages import add_to_cart, session_cart, use_cart

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def _expiry_in_db(cart: Cart):
    (expiry,) = set(Reservation.objects.filter(holder_id=cart.pk, status=Reservation.Status.ACTIVE).values_list("expires_at", flat=True))
    return expiry


@pytest.fixture
def max_hold_20_minutes(settings):
    settings.CHECKOUT_MAX_HOLD = 20 * MINUTE
    settings.RESERVATION_TTL = 5 * MINUTE
    settings.RESERVATION_EXTEND_BELOW = 2 * MINUTE
    settings.RESERVATION_PAYMENT_TTL = 15 * MINUTE


def test_activity_extends_up_to_the_hold_deadline_and_no_further(max_hold_20_minutes, make_variant, make_cart):
    cart = make_cart({make_variant(on_hand=5): 2})
    t0 = timezone.now()
    deadline = t0 + 20 * MINUTE

    assert checkout_services.start_checkout(cart_id=cart.pk, now=t0).reservation_expires_at == t0 + 5 * MINUTE
    expiries = [
        checkout_services.resume_checkout(cart_id=cart.pk, now=t0 + minutes * MINUTE).reservation_expires_at
        for minutes in (4, 8, 12, 16, 19)
    ]

    assert expiries == [t0 + 9 * MINUTE, t0 + 13 * MINUTE, t0 + 17 * MINUTE, deadline, deadline]
    assert _expiry_in_db(cart) == deadline
    # Starting again while live, or asking for the payment's 15 minutes: still the deadline.
    again = checkout_services.start_checkout(cart_id=cart.pk, now=t0 + 19 * MINUTE)
    assert again.reservation_expires_at == deadline
    with transaction.atomic():
        locked = cart_services.lock_cart(cart.pk)
        keep_reservation_alive(locked, now=t0 + 19 * MINUTE, ttl=15 * MINUTE, extend_below=15 * MINUTE)
        assert locked.reservation_expires_at == deadline
    assert _expiry_in_db(cart) == deadline
    with pytest.raises(ReservationExpired):
        checkout_services.update_checkout(cart_id=cart.pk, email="ada@example.com", now=deadline + timedelta(seconds=1))


def test_after_the_deadline_starting_again_is_a_new_hold_with_its_own_deadline(max_hold_20_minutes, make_variant, make_cart):
    cart = make_cart({make_variant(on_hand=5): 2})
    t0 = timezone.now() - 30 * MINUTE
    checkout_services.start_checkout(cart_id=cart.pk, now=t0)
    for minutes in (4, 8, 12, 16):
        checkout_services.resume_checkout(cart_id=cart.pk, now=t0 + minutes * MINUTE)

    t1 = t0 + 21 * MINUTE  # the first hold ran out at t0 + 20
    restarted = checkout_services.start_checkout(cart_id=cart.pk, now=t1)

    assert restarted.checkout_started_at == t1
    assert restarted.reservation_expires_at == t1 + 5 * MINUTE
    assert _expiry_in_db(cart) == t1 + 5 * MINUTE


# --- starts per client --------------------------------------------------------------------


@pytest.fixture
def two_starts_per_client(settings):
    settings.CHECKOUT_START_RATE_LIMIT = "2/h"


def _start(api, cart: Cart, remote: str = "198.51.100.7", **extra):
    return api.post(f"/api/v1/carts/{cart.pk}/checkout/", REMOTE_ADDR=remote, **extra)


def test_api_checkout_starts_past_the_client_limit_are_429_and_hold_nothing(two_starts_per_client, api, make_variant, make_cart):
    tee = make_variant("TEE", on_hand=10)
    first, second, third = (make_cart({tee: 1}) for _ in range(3))

    assert _start(api, first).status_code == 200
    assert _start(api, second).status_code == 200
    assert _start(api, first).status_code == 200  # again while live: an extension, not a start
    refused = _start(api, third)
    spoofed = _start(api, third, HTTP_X_FORWARDED_FOR="203.0.113.50")

    error = assert_error(refused, 429, "rate_limited")
    assert_error(spoofed, 429, "rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert error["details"]["retry_after"] == int(refused["Retry-After"])
    assert Cart.objects.get(pk=third.pk).status == Cart.Status.ACTIVE
    assert not Reservation.objects.filter(holder_id=third.pk).exists()
    # Another client is not held back by this one.
    assert _start(api, third, remote="198.51.100.8").status_code == 200


def test_page_checkout_start_past_the_limit_is_429_with_the_reason(two_starts_per_client, make_variant, make_cart):
    tee = make_variant("TEE", on_hand=10)
    browsers = []
    for _ in range(3):
        browser = Client()
        use_cart(browser, make_cart({tee: 1}))
        browsers.append(browser)

    from_cart = [browser.post("/cart/checkout/") for browser in browsers[:2]]
    refused = browsers[2].post("/cart/checkout/")
    refused_again = browsers[2].post("/checkout/")

    assert [r.status_code for r in from_cart] == [302, 302]
    assertContains(refused, "You have started checkout too many times in a short while.", status_code=429)
    assertContains(refused_again, "Too many requests", status_code=429)
    assert session_cart(browsers[2]).status == Cart.Status.ACTIVE


# --- the forms ----------------------------------------------------------------------------


def test_add_to_cart_form_past_the_client_limit_is_the_429_page(settings, shirt_sizes):
    settings.ADD_TO_CART_RATE_LIMIT = "2/m"
    browser = Client()

    statuses = [add_to_cart(browser, "linen-shirt", "SHIRT-S", "1").status_code for _ in range(2)]
    refused = add_to_cart(browser, "linen-shirt", "SHIRT-S", "1")

    assert statuses == [302, 302]
    assertContains(refused, "Too many requests", status_code=429)
    assert int(refused["Retry-After"]) >= 1
    assert list(session_cart(browser).lines.values_list("quantity", flat=True)) == [2]
    assert add_to_cart(Client(REMOTE_ADDR="198.51.100.9"), "linen-shirt", "SHIRT-S", "1").status_code == 302  # someone else


def test_checkout_forms_past_the_client_limit_are_the_429_page(settings, make_variant, make_cart):
    settings.CHECKOUT_FORM_RATE_LIMIT = "2/m"
    browser = Client()
    cart = make_cart({make_variant(on_hand=5): 1})
    use_cart(browser, cart)

    started = browser.post("/checkout/")
    second = browser.post("/checkout/address/", {"email": "not-an-email"})
    refused = browser.post("/checkout/address/", {"email": "ada@example.com"})

    assert started.status_code == 302 and second.status_code in (200, 400)
    assertContains(refused, "Too many requests", status_code=429)
    assert Cart.objects.get(pk=cart.pk).email == ""
    assert browser.get("/checkout/address/").status_code == 200  # reading the page is not limited
