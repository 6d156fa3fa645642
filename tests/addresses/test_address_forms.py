"""The checkout's address step lays the address form out by the country's rules: its
labels (State, Prefecture; ZIP code, Postcode), required marks, a list of states or
prefectures, the postal-code example, and each problem next to its field. Changing the
country shows the new country's fields, without JavaScript too."""
from __future__ import annotations

import re
from html import unescape

import pytest

from tests.addresses.samples import DE, GB, JP, US, form_data

pytestmark = pytest.mark.django_db


def page(response) -> str:
    return response.content.decode()


def labels(html: str, prefix: str = "shipping") -> dict[str, str]:
    """field -> its label's text, for the prefix's fields."""
    found = re.findall(rf'<label for="id_{prefix}_(\w+)">(.*?)</label>', html, re.S)
    return {key: " ".join(unescape(re.sub(r"<[^>]+>", "", text)).split()) for key, text in found}


def control(html: str, field_id: str) -> str:
    return re.search(rf'<(?:input|select)[^>]*id="{field_id}"[^>]*>', html).group(0)


def field_error(html: str, field_id: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{field_id}-error">(.*?)</p>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))) if found else None


def show_country(client, country: str, values: dict | None = None) -> str:
    """The step after pressing "Update" with `country` chosen (what a browser without
    JavaScript does)."""
    data = {"email": "grace@example.com", "billing_same": "on", "refresh": "shipping", **form_data({**(values or {}), "country": country})}
    data["shipping-rendered_country"] = "US"
    response = client.post("/checkout/address/", data)
    assert response.status_code == 200
    return page(response)


# --- labels, required marks, choices and hints per country -------------------------------------


def test_a_us_form_asks_for_a_state_from_a_list_and_a_zip_code(guest_checkout):
    client, _ = guest_checkout

    html = page(client.get("/checkout/address/"))  # the United States first: the shop's default

    assert labels(html) == {
        "country": "Country", "name": "Full name", "line1": "Address", "line2": "Apartment, suite, etc. (optional)",
        "city": "City", "region": "State", "postal_code": "ZIP code",
    }
    region = re.search(r'<select id="id_shipping_region".*?</select>', html, re.S).group(0)
    assert '<option value="" selected>Choose a state</option>' in region
    assert '<option value="IL">Illinois</option>' in region and '<option value="CA">California</option>' in region
    assert 'aria-required="true"' in control(html, "id_shipping_region")
    assert 'aria-required="true"' in control(html, "id_shipping_postal_code")
    assert '<p class="field-help" id="id_shipping_postal_code-help">For example 95014</p>' in html


def test_the_us_fields_sit_city_state_zip_on_one_row(guest_checkout):
    client, _ = guest_checkout

    html = page(client.get("/checkout/address/"))

    row = re.search(r'<div class="address-row address-row-3">(.*?)</div>\s*</div>\s*</div>', html, re.S).group(1)
    assert re.findall(r'id="id_shipping_(\w+)"', row) == ["city", "region", "postal_code"]


def test_a_japanese_form_asks_for_a_prefecture_and_its_postal_code(guest_checkout):
    client, _ = guest_checkout

    html = show_country(client, "JP")

    assert labels(html) == {
        "country": "Country", "name": "Full name", "line1": "Address", "line2": "Apartment, suite, etc. (optional)",
        "city": "City or ward", "region": "Prefecture", "postal_code": "Postal code",
    }
    assert '<option value="Tokyo">Tokyo</option>' in html and '<option value="Hokkaido">Hokkaido</option>' in html
    assert "東京都" not in html
    assert 'For example <span class="nowrap">154-0023</span>' in html  # not broken at the hyphen


def test_a_german_form_has_no_region_and_puts_the_postal_code_before_the_city(guest_checkout):
    client, _ = guest_checkout

    html = show_country(client, "DE")

    assert list(labels(html)) == ["country", "name", "line1", "line2", "postal_code", "city"]
    assert labels(html)["postal_code"] == "Postal code"
    assert "For example 26133" in html


def test_a_british_form_asks_for_a_town_and_a_postcode(guest_checkout):
    client, _ = guest_checkout

    html = show_country(client, "GB")

    assert labels(html) == {
        "country": "Country", "name": "Full name", "line1": "Address", "line2": "Apartment, suite, etc. (optional)",
        "city": "Town or city", "postal_code": "Postcode",
    }
    assert "For example EC1Y 8SY" in html


def test_update_keeps_what_was_typed_and_judges_nothing(guest_checkout):
    client, cart = guest_checkout

    html = show_country(client, "JP", {"name": "Taro Yamada", "line1": "1-2-3 Jingumae", "postal_code": "150-0001"})

    assert 'value="Taro Yamada"' in html and 'value="150-0001"' in html
    assert 'class="field-error"' not in html
    assert '<option value="JP" selected>Japan</option>' in html
    assert '<input type="hidden" name="shipping-rendered_country" value="JP">' in html
    cart.refresh_from_db()
    assert cart.shipping_address is None


def test_a_country_changed_without_update_shows_its_fields_instead_of_judging_the_old_ones(guest_checkout):
    client, cart = guest_checkout
    # Filled in as a US form (a state chosen), then Japan picked and "Continue" pressed.
    data = {"email": "grace@example.com", "billing_same": "on", **form_data({**JP, "region": "CA"})}
    data["shipping-rendered_country"] = "US"

    response = client.post("/checkout/address/", data)

    assert response.status_code == 200
    html = page(response)
    assert "The address fields now follow the chosen country." in html
    assert labels(html)["region"] == "Prefecture"
    cart.refresh_from_db()
    assert cart.shipping_address is None


def test_the_billing_form_follows_its_own_country(guest_checkout):
    client, _ = guest_checkout
    data = {"email": "grace@example.com", **form_data(US), **form_data({"country": "GB"}, prefix="billing"), "refresh": "billing"}
    data["billing-rendered_country"] = "US"

    html = page(client.post("/checkout/address/", data))

    assert labels(html, "billing")["postal_code"] == "Postcode"
    assert labels(html, "shipping")["postal_code"] == "ZIP code"


# --- errors next to their fields ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "change", "field", "message"),
    [
        (US, {"region": ""}, "region", "This field is required."),
        (US, {"postal_code": "6270"}, "postal_code", "Enter a valid ZIP code, e.g. 95014."),
        (US, {"region": "CA"}, "postal_code", "This ZIP code is not in California."),
        (DE, {"postal_code": "1011"}, "postal_code", "Enter a valid postal code, e.g. 26133."),
        (JP, {"region": ""}, "region", "This field is required."),
        (JP, {"city": ""}, "city", "This field is required."),
        (JP, {"postal_code": "1500"}, "postal_code", "Enter a valid postal code, e.g. 154-0023."),
        (GB, {"postal_code": "SW1"}, "postal_code", "Enter a valid postcode, e.g. EC1Y 8SY."),
        (GB, {"city": ""}, "city", "This field is required."),
    ],
    ids=["US-state", "US-zip", "US-zip-state", "DE-postcode", "JP-prefecture", "JP-city", "JP-postcode", "GB-postcode", "GB-town"],
)
def test_each_problem_is_shown_next_to_its_field(guest_checkout, address, change, field, message):
    client, cart = guest_checkout

    response = client.post("/checkout/address/", {"email": "grace@example.com", "billing_same": "on", **form_data({**address, **change})})

    assert response.status_code == 400
    html = page(response)
    assert field_error(html, f"id_shipping_{field}") == message
    assert f'aria-invalid="true" aria-describedby="id_shipping_{field}-error' in control(html, f"id_shipping_{field}")
    assert len(re.findall(r'<p class="field-error" id="id_shipping_', html)) == 1
    cart.refresh_from_db()
    assert cart.shipping_address is None


@pytest.mark.parametrize("address", [US, DE, JP, GB], ids=["US", "DE", "JP", "GB"])
def test_a_valid_address_of_each_country_leads_to_shipping(guest_checkout, address):
    client, cart = guest_checkout

    response = client.post("/checkout/address/", {"email": "grace@example.com", "billing_same": "on", **form_data(address)})

    assert response.status_code == 302 and response["Location"] == "/checkout/shipping/"
    cart.refresh_from_db()
    assert cart.shipping_address == address


def test_the_page_stores_the_normalized_address(guest_checkout):
    client, cart = guest_checkout
    typed = {**GB, "postal_code": "sw1y4jh"}

    client.post("/checkout/address/", {"email": "grace@example.com", "billing_same": "on", **form_data(typed)})

    cart.refresh_from_db()
    assert cart.shipping_address["postal_code"] == "SW1Y 4JH"


def test_a_stored_address_reopens_in_its_countrys_form(guest_checkout):
    client, cart = guest_checkout
    client.post("/checkout/address/", {"email": "grace@example.com", "billing_same": "on", **form_data(JP)})

    html = page(client.get("/checkout/address/"))

    assert labels(html)["region"] == "Prefecture"
    assert '<option value="Tokyo" selected>Tokyo</option>' in html
    assert 'value="150-0001"' in html
