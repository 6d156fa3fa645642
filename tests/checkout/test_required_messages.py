"""A field left empty is said to be required, in those words: the checkout's email (page
and API), the address fields, and the shipping method. (A value that is there but wrong
keeps its own message: tests/checkout/test_pages.py.)"""
from __future__ import annotations

import re

import pytest
from cart.models import Cart
from tests.checkout.test_pages import ADDRESS, express, in_checkout, shopper, standard, through_address  # noqa: F401 (fixtures)


def field_error(html: str, field_id: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{field_id}-error">([^<]*)</p>', html)
    return found.group(1) if found else None


def test_an_empty_email_is_said_to_be_required(shopper):  # noqa: F811
    client, cart, _ = shopper
    in_checkout(client, cart)

    response = client.post("/checkout/address/", {**ADDRESS, "email": "   "})

    assert response.status_code == 400
    html = response.content.decode()
    assert field_error(html, "id_email") == "Email address is required."
    assert 'aria-invalid="true" aria-describedby="id_email-error"' in html
    cart.refresh_from_db()
    assert cart.email == "" and cart.shipping_address is None


def test_a_wrong_email_is_still_said_to_be_wrong_not_missing(shopper):  # noqa: F811
    client, cart, _ = shopper
    in_checkout(client, cart)

    html = client.post("/checkout/address/", {**ADDRESS, "email": "ada@"}).content.decode()

    assert field_error(html, "id_email") == "Enter a valid email address."


def test_empty_address_fields_are_each_said_to_be_required(shopper):  # noqa: F811
    client, cart, _ = shopper
    in_checkout(client, cart)

    response = client.post("/checkout/address/", {**ADDRESS, "shipping-name": "", "shipping-city": "", "shipping-postal_code": ""})

    assert response.status_code == 400
    html = response.content.decode()
    for field in ("id_shipping_name", "id_shipping_city", "id_shipping_postal_code"):
        assert field_error(html, field) == "This field is required.", field


def test_no_shipping_method_chosen_is_said_to_be_required(shopper):  # noqa: F811
    client, cart, _ = shopper
    through_address(client, cart)

    response = client.post("/checkout/shipping/", {})

    assert response.status_code == 400
    assert 'id="shipping-method-error">A shipping method is required: choose one below.</p>' in response.content.decode()
    assert Cart.objects.get(pk=cart.pk).shipping_method == ""


@pytest.mark.parametrize("email", ["", "  ", None])
def test_the_api_says_an_empty_email_is_required(api, make_variant, make_cart, email):
    cart = make_cart({make_variant(price="5.00"): 1})
    assert api.post(f"/api/v1/carts/{cart.pk}/checkout/").status_code == 200

    response = api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"email": email})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "email: Email address is required."
    assert error["details"]["email"] == ["Email address is required."]


def test_the_words_come_from_one_place():
    from cart.validation import clean_email
    from shop.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        clean_email("")
    assert refused.value.details == {"email": ["Email address is required."]}
