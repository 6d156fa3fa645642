"""The checkout part of docs/api.md: start (reserve all or none), update (contact, addresses,
shipping, keeping the reservation alive), cancel. Refusals change nothing."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from moneyed import Money

from cart.models import Cart
from inventory.models import Reservation, Stock
from tests.support.api_helpers import assert_error, db_state, money
from checkout import services as checkout_services
from tests.support.shipping import make_method, rest_of_world

ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}
TTL = timedelta(minutes=5)


@pytest.fixture
def standard_shipping(db):
    return make_method(code="standard", name="Standard", price=Money(Decimal("4.95"), "USD"))


def expires_at(body: dict) -> datetime:
    """The cart's reservation_expires_at, which must be ISO 8601 with an offset."""
    parsed = datetime.fromisoformat(body["reservation_expires_at"])
    assert parsed.utcoffset() is not None, body["reservation_expires_at"]
    return parsed


def assert_about(actual: datetime, expected: datetime) -> None:
    assert abs(actual - expected) < timedelta(seconds=5), (actual, expected)


def leave_remaining(cart: Cart, remaining: timedelta) -> datetime:
    """Move the cart's reservation so that `remaining` is left: time passing, without a clock."""
    until = timezone.now() + remaining
    Cart.objects.filter(pk=cart.pk).update(reservation_expires_at=until)
    Reservation.objects.filter(holder_id=cart.pk, status=Reservation.Status.ACTIVE).update(expires_at=until)
    return until


@pytest.fixture
def cart_in_checkout(make_variant, make_cart):
    rest_of_world()  # the shop ships everywhere
    cart = make_cart({make_variant(price="19.99", on_hand=10): 2, make_variant(price="5.00", on_hand=10): 1})
    checkout_services.start_checkout(cart_id=cart.pk)
    return cart


# --- start -------------------------------------------------------------------------


def test_start_checkout_reserves_every_line_for_five_minutes(api, make_variant, make_cart):
    shirt, socks = make_variant(on_hand=5), make_variant(on_hand=3)
    cart = make_cart({shirt: 2, socks: 3})

    response = api.post(f"/api/v1/carts/{cart.pk}/checkout/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "checkout"
    assert_about(expires_at(body), timezone.now() + TTL)
    reservations = Reservation.objects.filter(holder_id=cart.pk, status=Reservation.Status.ACTIVE)
    assert dict(reservations.values_list("variant_id", "quantity")) == {shirt.pk: 2, socks.pk: 3}
    assert dict(Stock.objects.filter(variant__in=[shirt, socks]).values_list("variant_id", "reserved")) == {shirt.pk: 2, socks.pk: 3}
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.CHECKOUT


def test_start_checkout_ignores_client_totals_and_currency(api, make_variant, make_cart):
    cart = make_cart({make_variant(price="19.99"): 1})

    response = api.post(f"/api/v1/carts/{cart.pk}/checkout/", {"total": "0.01", "currency": "JPY", "price": "0"})

    assert response.status_code == 200
    assert (response.json()["currency"], response.json()["total"]) == ("USD", money("19.99"))


def test_starting_again_extends_the_reservation(api, cart_in_checkout):
    leave_remaining(cart_in_checkout, timedelta(minutes=3))

    response = api.post(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/")

    assert response.status_code == 200
    assert response.json()["status"] == "checkout"
    new_expiry = expires_at(response.json())
    assert_about(new_expiry, timezone.now() + TTL)
    reservations = Reservation.objects.filter(holder_id=cart_in_checkout.pk, status=Reservation.Status.ACTIVE)
    assert reservations.count() == 2
    assert {r.expires_at for r in reservations} == {new_expiry}
    assert Stock.objects.filter(reserved__gt=0).count() == 2  # nothing reserved twice
    assert sorted(Stock.objects.values_list("reserved", flat=True)) == [1, 2]


def test_starting_again_after_expiry_reserves_afresh(api, cart_in_checkout):
    leave_remaining(cart_in_checkout, timedelta(minutes=-1))

    response = api.post(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/")

    assert response.status_code == 200
    assert_about(expires_at(response.json()), timezone.now() + TTL)
    assert Reservation.objects.filter(holder_id=cart_in_checkout.pk, status=Reservation.Status.ACTIVE).count() == 2
    assert sorted(Stock.objects.values_list("reserved", flat=True)) == [1, 2]


def test_start_checkout_with_too_little_stock_reserves_nothing(api, make_variant, make_cart):
    shirt, socks, hat = make_variant(on_hand=5), make_variant(on_hand=3), make_variant(on_hand=2)
    cart = make_cart({shirt: 2, socks: 3, hat: 2})
    checkout_services.start_checkout(cart_id=make_cart({socks: 1, hat: 2}).pk)
    before = db_state()

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/checkout/"), 409, "insufficient_stock")

    assert error["details"] == {
        "items": [
            {"sku": socks.sku, "requested": 3, "available": 2},
            {"sku": hat.sku, "requested": 2, "available": 0},
        ]
    }
    assert db_state() == before
    assert not Reservation.objects.filter(holder_id=cart.pk).exists()
    assert Stock.objects.get(variant=shirt).reserved == 0


def test_start_checkout_of_an_empty_cart_is_400(api, make_cart):
    cart = make_cart()
    before = db_state()

    assert_error(api.post(f"/api/v1/carts/{cart.pk}/checkout/"), 400, "invalid")
    assert db_state() == before


@pytest.mark.parametrize("status", [Cart.Status.COMPLETED, Cart.Status.ABANDONED])
def test_start_checkout_of_a_finished_cart_is_409(api, make_variant, make_cart, status):
    cart = make_cart({make_variant(): 1})
    Cart.objects.filter(pk=cart.pk).update(status=status)
    before = db_state()

    assert_error(api.post(f"/api/v1/carts/{cart.pk}/checkout/"), 409, "cart_not_active")
    assert db_state() == before


# --- update ------------------------------------------------------------------------


def test_update_checkout_stores_contact_address_and_shipping(api, cart_in_checkout, standard_shipping):
    billing = {**ADDRESS, "name": "Charles Babbage", "line2": "Flat 2", "region": "Greater London"}

    response = api.patch(
        f"/api/v1/carts/{cart_in_checkout.pk}/checkout/",
        {
            "email": "ada@example.com",
            "shipping_address": {**ADDRESS, "country": "gb", "phone": "ignored"},
            "billing_address": billing,
            "shipping_method": "standard",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["shipping_address"] == ADDRESS
    assert body["billing_address"] == billing
    assert body["shipping_method"] == "standard"
    assert body["subtotal"] == money("44.98")
    assert body["shipping"] == money("4.95")
    assert body["total"] == money("49.93")
    stored = Cart.objects.get(pk=cart_in_checkout.pk)
    assert (stored.email, stored.shipping_address, stored.shipping_method) == ("ada@example.com", ADDRESS, "standard")


def test_update_checkout_ignores_client_amounts(api, cart_in_checkout, standard_shipping):
    response = api.patch(
        f"/api/v1/carts/{cart_in_checkout.pk}/checkout/",
        {
            "shipping_address": ADDRESS,
            "shipping_method": "standard",
            "shipping": money("0.00"),
            "total": money("0.01"),
            "currency": "JPY",
            "discount": "44.98",
            "tax": money("0.00"),
            "tax_lines": [{"name": "VAT", "rate": "0.00", "amount": money("0.00")}],
        },
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["currency"], body["shipping"], body["discount"], body["total"]) == ("USD", money("4.95"), money("0.00"), money("49.93"))


def test_fields_can_be_sent_one_at_a_time(api, cart_in_checkout):
    cart_id = cart_in_checkout.pk

    api.patch(f"/api/v1/carts/{cart_id}/checkout/", {"email": "ada@example.com"})
    response = api.patch(f"/api/v1/carts/{cart_id}/checkout/", {"shipping_address": ADDRESS})

    assert response.json()["email"] == "ada@example.com"
    assert response.json()["shipping_address"] == ADDRESS


def test_update_extends_to_five_minutes_when_less_than_two_remain(api, cart_in_checkout):
    leave_remaining(cart_in_checkout, timedelta(seconds=90))

    response = api.patch(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/", {"email": "ada@example.com"})

    assert response.status_code == 200
    new_expiry = expires_at(response.json())
    assert_about(new_expiry, timezone.now() + TTL)
    assert set(Reservation.objects.filter(holder_id=cart_in_checkout.pk).values_list("expires_at", flat=True)) == {new_expiry}
    assert Cart.objects.get(pk=cart_in_checkout.pk).reservation_expires_at == new_expiry


@pytest.mark.parametrize("remaining", [timedelta(seconds=150), timedelta(minutes=4)])
def test_update_does_not_extend_while_two_minutes_or_more_remain(api, cart_in_checkout, remaining):
    until = leave_remaining(cart_in_checkout, remaining)

    response = api.patch(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/", {"email": "ada@example.com"})

    assert response.status_code == 200
    assert expires_at(response.json()) == until
    assert set(Reservation.objects.filter(holder_id=cart_in_checkout.pk).values_list("expires_at", flat=True)) == {until}


def test_extension_thresholds_come_from_settings(api, cart_in_checkout, settings):
    settings.RESERVATION_EXTEND_BELOW = timedelta(minutes=4)
    settings.RESERVATION_TTL = timedelta(minutes=10)
    leave_remaining(cart_in_checkout, timedelta(minutes=3))

    response = api.patch(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/", {"email": "ada@example.com"})

    assert_about(expires_at(response.json()), timezone.now() + timedelta(minutes=10))


def test_update_after_expiry_is_409_reservation_expired(api, cart_in_checkout):
    leave_remaining(cart_in_checkout, timedelta(seconds=-1))
    before = db_state()

    assert_error(api.patch(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/", {"email": "ada@example.com"}), 409, "reservation_expired")
    assert db_state() == before


def test_update_when_not_in_checkout_is_409(api, make_variant, make_cart):
    cart = make_cart({make_variant(): 1})
    before = db_state()

    assert_error(api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"email": "ada@example.com"}), 409, "cart_not_in_checkout")
    assert db_state() == before


@pytest.mark.parametrize(
    "body, bad_fields",
    [
        ({"email": "not-an-email"}, {"email"}),
        ({"email": ""}, {"email"}),
        ({"email": 5}, {"email"}),
        ({"email": None}, {"email"}),
        ({"shipping_address": {**ADDRESS, "city": ""}}, {"shipping_address.city"}),
        ({"shipping_address": {k: v for k, v in ADDRESS.items() if k != "postal_code"}}, {"shipping_address.postal_code"}),
        ({"shipping_address": {**ADDRESS, "country": "XX"}}, {"shipping_address.country"}),
        ({"shipping_address": {**ADDRESS, "country": "GBR"}}, {"shipping_address.country"}),
        ({"shipping_address": {**ADDRESS, "name": 7}}, {"shipping_address.name"}),
        ({"shipping_address": {**ADDRESS, "line1": "x" * 201}}, {"shipping_address.line1"}),
        ({"shipping_address": "12 St James's Square"}, {"shipping_address"}),
        ({"shipping_address": None}, {"shipping_address"}),
        ({"billing_address": {**ADDRESS, "name": " "}}, {"billing_address.name"}),
        ({"email": "a" * 250 + "@example.com"}, {"email"}),
        ({"email": "ada\u0000@example.com"}, {"email"}),
        ({"shipping_address": {**ADDRESS, "name": "Ada\u0000"}}, {"shipping_address.name"}),
        ({"shipping_address": {**ADDRESS, "line1": "12 St James's\nSquare"}}, {"shipping_address.line1"}),
        ({"shipping_method": "teleport"}, {"shipping_method"}),
        ({"shipping_method": "standard\u0000"}, {"shipping_method"}),
        ({"shipping_method": None}, {"shipping_method"}),
        (
            {"email": "ada@example.com", "shipping_address": {**ADDRESS, "country": ""}, "shipping_method": "teleport"},
            {"shipping_address.country", "shipping_method"},
        ),
    ],
)
def test_bad_checkout_fields_are_400_naming_each_and_change_nothing(api, cart_in_checkout, standard_shipping, body, bad_fields):
    leave_remaining(cart_in_checkout, timedelta(seconds=30))  # a refusal must not extend either
    before = db_state()

    error = assert_error(api.patch(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/", body), 400, "invalid")

    assert set(error["details"]) == bad_fields
    assert all(isinstance(messages, list) and messages for messages in error["details"].values())
    assert db_state() == before


def test_billing_address_can_be_cleared(api, cart_in_checkout):
    api.patch(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/", {"billing_address": ADDRESS})

    response = api.patch(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/", {"billing_address": None})

    assert response.status_code == 200
    assert response.json()["billing_address"] is None


@pytest.mark.parametrize("body", ["{oops", "[]", '"ada@example.com"', "null"])
def test_update_with_a_body_that_is_not_a_json_object_is_400(api, cart_in_checkout, body):
    before = db_state()

    assert_error(api.patch(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/", body), 400, "invalid")
    assert db_state() == before


# --- cancel ------------------------------------------------------------------------


def test_cancel_checkout_releases_and_returns_to_active(api, cart_in_checkout):
    response = api.delete(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["reservation_expires_at"]) == ("active", None)
    assert not Reservation.objects.filter(holder_id=cart_in_checkout.pk, status=Reservation.Status.ACTIVE).exists()
    assert set(Reservation.objects.filter(holder_id=cart_in_checkout.pk).values_list("status", flat=True)) == {"released"}
    assert list(Stock.objects.values_list("reserved", flat=True)) == [0, 0]
    assert Cart.objects.get(pk=cart_in_checkout.pk).status == Cart.Status.ACTIVE


def test_cart_can_change_again_after_cancel(api, cart_in_checkout, make_variant):
    api.delete(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/")

    response = api.post(f"/api/v1/carts/{cart_in_checkout.pk}/lines/", {"sku": make_variant().sku, "quantity": 1})

    assert response.status_code == 201


@pytest.mark.parametrize("status", [Cart.Status.ACTIVE, Cart.Status.COMPLETED, Cart.Status.ABANDONED])
def test_cancel_when_not_in_checkout_is_409(api, make_variant, make_cart, status):
    cart = make_cart({make_variant(): 1})
    Cart.objects.filter(pk=cart.pk).update(status=status)
    before = db_state()

    assert_error(api.delete(f"/api/v1/carts/{cart.pk}/checkout/"), 409, "cart_not_in_checkout")
    assert db_state() == before


def test_cancel_after_expiry_still_returns_to_active(api, cart_in_checkout):
    leave_remaining(cart_in_checkout, timedelta(minutes=-1))

    response = api.delete(f"/api/v1/carts/{cart_in_checkout.pk}/checkout/")

    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert list(Stock.objects.values_list("reserved", flat=True)) == [0, 0]
