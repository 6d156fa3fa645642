"""At checkout a signed-in shopper is offered their saved addresses (the default chosen),
and a new address is saved to their account when they ask, after it passed the checkout's
checks. Guests see neither; the API's PATCH still takes an address object."""
from __future__ import annotations

import re

import pytest

from addresses import services
from addresses.models import SavedAddress
from tests.addresses.conftest import start_checkout
from tests.addresses.samples import DE, GB, JP, US, form_data
from tests.support.shipping import make_method, make_zone

pytestmark = pytest.mark.django_db


def add(user, address, **defaults) -> SavedAddress:
    return services.add_address(user_id=user.pk, address=address, **defaults)


def radios(html: str, name: str = "saved_address") -> dict[str, dict[str, bool]]:
    """value -> {"checked", "disabled"} of the saved-address radios (of the billing
    address with name="saved_billing_address")."""
    found = {}
    for tag in re.findall(rf'<input type="radio"[^>]*name="{name}"[^>]*>', html):
        value = re.search(r'value="([^"]*)"', tag).group(1)
        found[value] = {"checked": " checked" in tag, "disabled": " disabled" in tag}
    return found


def continue_with(client, **data):
    return client.post("/checkout/address/", {"email": "grace@example.com", "billing_same": "on", **data})


def test_a_guest_is_offered_no_saved_addresses_and_no_save_box(guest_checkout):
    client, _ = guest_checkout

    html = client.get("/checkout/address/").content.decode()

    assert radios(html) == {} and 'name="save_address"' not in html


def test_a_customer_is_offered_their_addresses_with_the_default_chosen(customer_checkout, customer, other_customer):
    client, _ = customer_checkout
    springfield = add(customer, US)
    berlin = add(customer, DE)
    add(other_customer, GB)

    html = client.get("/checkout/address/").content.decode()

    assert radios(html) == {
        str(springfield.pk): {"checked": True, "disabled": False},
        str(berlin.pk): {"checked": False, "disabled": False},
        "new": {"checked": False, "disabled": False},
    }
    assert "Springfield, IL 62701" in html and "10117 Berlin" in html and "St James" not in html
    assert 'name="save_address"' in html
    assert 'value="Grace Hopper"' not in html  # the chosen address is not typed into the new one


def test_choosing_a_saved_address_fills_the_shipping_address_on_the_server(customer_checkout, customer):
    client, cart = customer_checkout
    add(customer, US)
    berlin = add(customer, DE)

    # The new-address fields post whatever they hold; the saved choice wins.
    response = continue_with(client, saved_address=str(berlin.pk), **form_data({"country": "US"}))

    assert response.status_code == 302 and response["Location"] == "/checkout/shipping/"
    cart.refresh_from_db()
    assert cart.shipping_address == DE
    assert SavedAddress.objects.filter(user__isnull=False).count() == 2


def test_another_customers_address_cannot_be_chosen(customer_checkout, other_customer):
    client, cart = customer_checkout
    theirs = add(other_customer, GB)

    response = continue_with(client, saved_address=str(theirs.pk), **form_data({"country": "US"}))

    assert response.status_code == 400
    assert "Choose one of your saved addresses or enter a new one." in response.content.decode()
    cart.refresh_from_db()
    assert cart.shipping_address is None


def test_a_saved_address_the_shop_does_not_ship_to_is_offered_but_disabled(db, signed_in, customer, make_variant, make_cart):
    make_method(code="standard", name="Standard", price="5.00", zone=make_zone("United States", ["US"]))
    springfield = add(customer, US)
    berlin = add(customer, DE, default_shipping=True)
    start_checkout(signed_in, make_variant, make_cart, customer)

    html = signed_in.get("/checkout/address/").content.decode()

    assert radios(html)[str(berlin.pk)] == {"checked": False, "disabled": True}
    assert radios(html)["new"]["checked"]  # the default cannot be shipped to
    assert "We do not ship to Germany." in html
    response = continue_with(signed_in, saved_address=str(berlin.pk), **form_data({"country": "US"}))
    assert response.status_code == 400
    assert "Sorry, we do not ship to Germany." in response.content.decode()
    assert continue_with(signed_in, saved_address=str(springfield.pk)).status_code == 302


def test_a_new_address_is_saved_when_asked_normalized(customer_checkout, customer):
    client, cart = customer_checkout

    response = continue_with(client, save_address="on", **form_data({**JP, "region": "東京都", "postal_code": "1500001"}))

    assert response.status_code == 302
    cart.refresh_from_db()
    (saved,) = SavedAddress.objects.filter(user=customer)
    assert saved.as_address() == cart.shipping_address == JP
    assert saved.is_default_shipping and saved.is_default_billing  # the book's first


def test_a_new_address_is_not_saved_unless_asked(customer_checkout, customer):
    client, _ = customer_checkout

    assert continue_with(client, **form_data(US)).status_code == 302

    assert not SavedAddress.objects.filter(user=customer).exists()


def test_an_invalid_new_address_is_not_saved(customer_checkout, customer):
    client, _ = customer_checkout

    response = continue_with(client, save_address="on", **form_data({**US, "postal_code": "1"}))

    assert response.status_code == 400
    assert 'name="save_address" checked' in response.content.decode()  # the choice is kept
    assert not SavedAddress.objects.filter(user=customer).exists()


def test_saving_an_address_the_book_holds_adds_no_copy(customer_checkout, customer):
    client, _ = customer_checkout
    add(customer, US)

    continue_with(client, saved_address="new", save_address="on", **form_data(US))

    assert SavedAddress.objects.filter(user=customer).count() == 1


def test_a_default_billing_address_of_its_own_is_chosen_for_billing(customer_checkout, customer):
    client, _ = customer_checkout
    springfield = add(customer, US)
    tokyo = add(customer, JP, default_billing=True)

    html = client.get("/checkout/address/").content.decode()

    assert '<input type="checkbox" id="id_billing_same" name="billing_same" aria-controls="billing-fields">' in html
    assert radios(html, "saved_billing_address") == {
        str(springfield.pk): {"checked": False, "disabled": False},
        str(tokyo.pk): {"checked": True, "disabled": False},
        "new": {"checked": False, "disabled": False},
    }
    assert 'id="id_billing_line1" name="billing-line1" value=""' in html  # not typed into the new-address fields


def test_billing_is_the_same_as_shipping_when_the_defaults_are_one_address(customer_checkout, customer):
    client, _ = customer_checkout
    add(customer, US)

    html = client.get("/checkout/address/").content.decode()

    assert '<input type="checkbox" id="id_billing_same" name="billing_same" checked aria-controls="billing-fields">' in html


def test_choosing_a_saved_billing_address_fills_the_billing_address_on_the_server(customer_checkout, customer):
    client, cart = customer_checkout
    springfield = add(customer, US)
    tokyo = add(customer, JP)

    response = client.post("/checkout/address/", {
        "email": "grace@example.com", "saved_address": str(springfield.pk), "saved_billing_address": str(tokyo.pk),
        **form_data({"country": "US"}), **form_data({"country": "US"}, prefix="billing"),
    })

    assert response.status_code == 302
    cart.refresh_from_db()
    assert (cart.shipping_address, cart.billing_address) == (US, JP)


def test_another_customers_address_cannot_be_chosen_for_billing(customer_checkout, customer, other_customer):
    client, cart = customer_checkout
    springfield = add(customer, US)
    theirs = add(other_customer, GB)

    response = client.post("/checkout/address/", {
        "email": "grace@example.com", "saved_address": str(springfield.pk), "saved_billing_address": str(theirs.pk),
        **form_data({"country": "US"}, prefix="billing"),
    })

    assert response.status_code == 400
    assert '<p class="field-error" id="billing-saved-error">Choose one of your saved addresses or enter a new one.</p>' in response.content.decode()
    cart.refresh_from_db()
    assert cart.billing_address is None


def test_the_address_the_cart_holds_is_the_one_chosen_when_coming_back(customer_checkout, customer):
    client, _ = customer_checkout
    add(customer, US)
    berlin = add(customer, DE)
    continue_with(client, saved_address=str(berlin.pk))

    html = client.get("/checkout/address/").content.decode()

    assert radios(html)[str(berlin.pk)]["checked"]


def test_the_api_patch_still_takes_an_address_object(api, customer_checkout):
    _, cart = customer_checkout

    response = api.patch(f"/api/v1/carts/{cart.pk}/checkout/", {"shipping_address": GB})

    assert response.status_code == 200 and response.json()["shipping_address"] == GB
