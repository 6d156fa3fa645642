"""How much one cart may hold (issue 12): CART_MAX_QUANTITY_PER_SKU units of one SKU and
CART_MAX_UNITS in all. Past either, adding or raising a line is 400 `invalid` naming
`quantity` (the page shows the reason next to the quantity field) and nothing changes;
a checkout whose lines break a limit lowered since they were added is 400 `invalid`
naming `lines`, and nothing is reserved.

Before issue 12 a cart could hold 99 of every SKU, with any number of lines."""
from __future__ import annotations

import pytest
from django.test import Client
from pytest_django.asserts import assertContains

from cart.models import Cart, CartLine
from inventory.models import Reservation
from tests.support.api_helpers import assert_error
from tests.support.pages import add_to_cart, session_cart

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.CART_MAX_QUANTITY_PER_SKU = 5
    settings.CART_MAX_UNITS = 8
    return settings


def _lines(cart_id) -> dict[str, int]:
    return dict(CartLine.objects.filter(cart_id=cart_id).values_list("variant__sku", "quantity"))


def test_defaults_keep_the_api_line_rule_and_bound_a_cart(settings):
    assert settings.CART_MAX_QUANTITY_PER_SKU == 99  # docs/api.md: a quantity from 1 to 99
    assert settings.CART_MAX_UNITS == 200


def test_api_add_past_the_per_sku_cap_is_400_naming_quantity(api, limits, make_variant, make_cart):
    tee = make_variant("TEE", on_hand=50)
    cart = make_cart({tee: 4})

    new_line = assert_error(api.post(f"/api/v1/carts/{make_cart().pk}/lines/", {"sku": "TEE", "quantity": 6}), 400, "invalid")
    merged = assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": "TEE", "quantity": 2}), 400, "invalid")

    assert new_line["message"] == merged["message"] == "At most 5 of one item per order."
    assert merged["details"] == {"quantity": ["The line would hold 6; at most 5."]}
    assert _lines(cart.pk) == {"TEE": 4}
    assert api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": "TEE", "quantity": 1}).status_code == 201  # up to the cap
    assert _lines(cart.pk) == {"TEE": 5}


def test_api_raising_a_line_past_the_per_sku_cap_is_refused(api, limits, make_variant, make_cart):
    cart = make_cart({make_variant("TEE", on_hand=50): 2})
    line = cart.lines.get()

    error = assert_error(api.patch(f"/api/v1/carts/{cart.pk}/lines/{line.pk}/", {"quantity": 9}), 400, "invalid")

    assert "quantity" in error["details"]
    assert _lines(cart.pk) == {"TEE": 2}
    assert api.patch(f"/api/v1/carts/{cart.pk}/lines/{line.pk}/", {"quantity": 1}).status_code == 200  # lowering is fine


def test_api_add_past_the_cart_total_is_400_naming_quantity(api, limits, make_variant, make_cart):
    cart = make_cart({make_variant("TEE", on_hand=50): 5, make_variant("CAP", on_hand=50): 2})
    make_variant("MUG", on_hand=50)

    error = assert_error(api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": "MUG", "quantity": 2}), 400, "invalid")

    assert error["message"] == "A cart can hold at most 8 items."
    assert error["details"] == {"quantity": ["The cart would hold 9 items; at most 8."]}
    assert _lines(cart.pk) == {"TEE": 5, "CAP": 2}
    cap_line = cart.lines.get(variant__sku="CAP")
    assert_error(api.patch(f"/api/v1/carts/{cart.pk}/lines/{cap_line.pk}/", {"quantity": 4}), 400, "invalid")
    assert api.post(f"/api/v1/carts/{cart.pk}/lines/", {"sku": "MUG", "quantity": 1}).status_code == 201
    assert _lines(cart.pk) == {"TEE": 5, "CAP": 2, "MUG": 1}


def test_page_shows_the_cap_next_to_the_quantity_field(limits, shirt_sizes):
    browser = Client()
    add_to_cart(browser, "linen-shirt", "SHIRT-S", "4")

    response = add_to_cart(browser, "linen-shirt", "SHIRT-S", "2")

    assert response.status_code == 400
    assertContains(
        response, '<p class="field-error" id="quantity-error">At most 5 of one item per order.</p>', status_code=400, html=True
    )
    assert list(session_cart(browser).lines.values_list("quantity", flat=True)) == [4]


def test_a_refused_first_add_creates_no_cart(limits, shirt_sizes):
    browser = Client()

    response = add_to_cart(browser, "linen-shirt", "SHIRT-S", "6")

    assert response.status_code == 400
    assert Cart.objects.count() == 0


def test_checkout_of_a_cart_over_a_lowered_limit_is_refused_and_reserves_nothing(api, settings, make_variant, make_cart):
    cart = make_cart({make_variant("TEE", on_hand=50): 7, make_variant("CAP", on_hand=50): 2})
    settings.CART_MAX_QUANTITY_PER_SKU = 5

    per_sku = assert_error(api.post(f"/api/v1/carts/{cart.pk}/checkout/"), 400, "invalid")
    settings.CART_MAX_QUANTITY_PER_SKU = 99
    settings.CART_MAX_UNITS = 8
    total = assert_error(api.post(f"/api/v1/carts/{cart.pk}/checkout/"), 400, "invalid")

    assert per_sku["details"] == {"lines": ["The line would hold 7; at most 5."]}
    assert total["details"] == {"lines": ["The cart would hold 9 items; at most 8."]}
    assert Cart.objects.get(pk=cart.pk).status == Cart.Status.ACTIVE
    assert not Reservation.objects.exists()


def test_merge_at_login_keeps_a_line_within_the_per_sku_cap(limits, make_variant, make_cart, django_user_model):
    from cart import services as cart_services

    tee = make_variant("TEE", on_hand=50)
    ada = django_user_model.objects.create_user("ada", "ada@example.com", "pw-ada-1")
    users_cart = make_cart({tee: 4})
    Cart.objects.filter(pk=users_cart.pk).update(user=ada)
    anonymous = make_cart({tee: 3})

    merged = cart_services.merge_carts(source_id=anonymous.pk, user_id=ada.pk)

    assert merged.pk == users_cart.pk
    assert _lines(merged.pk) == {"TEE": 5}
