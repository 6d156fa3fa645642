"""The address book at /account/addresses/: list, add, edit, delete, one default
shipping and one default billing address per customer; another customer's address is a
404; the services behind the pages keep the defaults right under concurrent requests."""
from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from addresses import selectors, services
from addresses.models import SavedAddress
from shop.errors import InvalidInput, NotFound
from tests.addresses.samples import DE, GB, JP, JP_LINES, US, US_LINES, form_data
from tests.support.race import Crew

pytestmark = pytest.mark.django_db


def add(user, address, **defaults) -> SavedAddress:
    return services.add_address(user_id=user.pk, address=address, **defaults)


def defaults_of(user) -> tuple[set[str], set[str]]:
    """(names on default shipping addresses, names on default billing addresses)."""
    book = SavedAddress.objects.filter(user=user)
    return (
        {saved.city for saved in book if saved.is_default_shipping},
        {saved.city for saved in book if saved.is_default_billing},
    )


def address_blocks(html: str) -> list[list[str]]:
    return [
        [unescape(re.sub(r"<[^>]+>", "", part)).strip() for part in re.split(r"<br\s*/?>", block) if part.strip()]
        for block in re.findall(r"<address[^>]*>(.*?)</address>", html, re.S)
    ]


# --- pages ---------------------------------------------------------------------------------------


def test_the_address_book_needs_a_signed_in_customer(db):
    response = Client().get("/account/addresses/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_list_shows_each_address_formatted_with_its_defaults(signed_in, customer):
    add(customer, US)
    add(customer, JP, default_billing=True)

    html = signed_in.get("/account/addresses/").content.decode()

    assert sorted(address_blocks(html)) == sorted([US_LINES, JP_LINES])
    assert html.count("Default shipping") == 1 and html.count("Default billing") == 1
    assert "Use for shipping by default" in html  # on the Tokyo one


def test_an_empty_book_says_how_to_fill_it(signed_in):
    html = signed_in.get("/account/addresses/").content.decode()

    assert "No saved addresses yet." in html


def test_adding_an_address_through_the_page(signed_in, customer):
    response = signed_in.post("/account/addresses/add/", form_data({**GB, "postal_code": "sw1y4jh"}, prefix="address"))

    assert response.status_code == 302 and response["Location"] == "/account/addresses/"
    (saved,) = SavedAddress.objects.filter(user=customer)
    assert saved.as_address() == GB  # normalized
    assert (saved.is_default_shipping, saved.is_default_billing) == (True, True)  # the first one


def test_the_add_page_lays_out_the_chosen_countrys_form_and_shows_errors_next_to_fields(signed_in, customer):
    html = signed_in.get("/account/addresses/add/").content.decode()
    assert '<label for="id_address_region">State</label>' in html

    response = signed_in.post("/account/addresses/add/", form_data({**JP, "region": "", "postal_code": "12"}, prefix="address"))

    assert response.status_code == 400
    html = response.content.decode()
    assert '<p class="field-error" id="id_address_region-error">This field is required.</p>' in html
    assert '<p class="field-error" id="id_address_postal_code-error">Enter a valid postal code, e.g. <span class="nowrap">154-0023</span>.</p>' in html
    assert '<label for="id_address_region">Prefecture</label>' in html
    assert not SavedAddress.objects.exists()


def test_changing_the_country_on_the_add_page_shows_its_fields_without_saving(signed_in):
    data = form_data({"name": "Ada Lovelace", "country": "GB"}, prefix="address")
    data["address-rendered_country"] = "US"

    response = signed_in.post("/account/addresses/add/", data)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_address_postal_code">Postcode</label>' in html and 'value="Ada Lovelace"' in html
    assert not SavedAddress.objects.exists()


def test_editing_an_address(signed_in, customer):
    saved = add(customer, US)

    response = signed_in.post(f"/account/addresses/{saved.pk}/edit/", form_data({**US, "line1": "2 Elm St"}, prefix="address"))

    assert response.status_code == 302
    saved.refresh_from_db()
    assert saved.line1 == "2 Elm St" and saved.is_default_shipping


def test_an_edit_is_checked_like_a_new_address(signed_in, customer):
    saved = add(customer, DE)

    response = signed_in.post(f"/account/addresses/{saved.pk}/edit/", form_data({**DE, "postal_code": "ABC"}, prefix="address"))

    assert response.status_code == 400
    assert "Enter a valid postal code, e.g. 26133." in response.content.decode()
    saved.refresh_from_db()
    assert saved.postal_code == "10117"


def test_deleting_an_address_asks_first(signed_in, customer):
    saved = add(customer, US)

    confirm = signed_in.get(f"/account/addresses/{saved.pk}/delete/")
    assert confirm.status_code == 200 and "Delete this address?" in confirm.content.decode()
    assert SavedAddress.objects.filter(pk=saved.pk).exists()

    response = signed_in.post(f"/account/addresses/{saved.pk}/delete/")

    assert response.status_code == 302
    assert not SavedAddress.objects.filter(pk=saved.pk).exists()


def test_making_an_address_the_default_from_the_list(signed_in, customer):
    add(customer, US)
    tokyo = add(customer, JP)

    response = signed_in.post(f"/account/addresses/{tokyo.pk}/default/shipping/")

    assert response.status_code == 302
    assert defaults_of(customer) == ({"Shibuya-ku"}, {"Springfield"})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/account/addresses/{id}/edit/"),
        ("post", "/account/addresses/{id}/edit/"),
        ("get", "/account/addresses/{id}/delete/"),
        ("post", "/account/addresses/{id}/delete/"),
        ("post", "/account/addresses/{id}/default/shipping/"),
        ("post", "/account/addresses/{id}/default/billing/"),
    ],
)
def test_another_customers_address_is_not_found(signed_in, other_customer, method, path):
    theirs = add(other_customer, GB)

    response = getattr(signed_in, method)(path.format(id=theirs.pk), form_data(US, prefix="address") if method == "post" else None)

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.as_address() == GB and theirs.is_default_shipping


def test_another_customers_addresses_are_not_listed(signed_in, other_customer):
    add(other_customer, GB)

    assert address_blocks(signed_in.get("/account/addresses/").content.decode()) == []


def test_an_unknown_default_kind_is_not_found(signed_in, customer):
    saved = add(customer, US)

    assert signed_in.post(f"/account/addresses/{saved.pk}/default/gift/").status_code == 404


# --- services: defaults ------------------------------------------------------------------------


def test_the_first_address_becomes_both_defaults_and_later_ones_do_not(customer):
    add(customer, US)
    add(customer, DE)

    assert defaults_of(customer) == ({"Springfield"}, {"Springfield"})


def test_a_new_default_replaces_the_old_one(customer):
    add(customer, US)
    add(customer, DE, default_shipping=True)
    tokyo = add(customer, JP)

    services.set_default(user_id=customer.pk, address_id=tokyo.pk, kind="billing")

    assert defaults_of(customer) == ({"Berlin"}, {"Shibuya-ku"})


def test_deleting_a_default_hands_it_to_the_most_recent_other_address(customer):
    springfield = add(customer, US)
    add(customer, DE)
    add(customer, JP)

    services.delete_address(user_id=customer.pk, address_id=springfield.pk)

    assert defaults_of(customer) == ({"Shibuya-ku"}, {"Shibuya-ku"})


def test_the_database_allows_one_default_of_each_kind_per_customer(customer, other_customer):
    add(customer, US)
    add(other_customer, US)  # another customer's default is theirs

    with pytest.raises(IntegrityError), transaction.atomic():
        SavedAddress.objects.create(user=customer, is_default_shipping=True, **DE)
    with pytest.raises(IntegrityError), transaction.atomic():
        SavedAddress.objects.create(user=customer, is_default_billing=True, **DE)


def test_the_book_refuses_an_invalid_address_with_the_fields_named(customer):
    with pytest.raises(InvalidInput) as raised:
        add(customer, {**US, "region": ""})

    assert raised.value.details == {"region": ["This field is required."]}
    assert not SavedAddress.objects.exists()


def test_another_customers_address_cannot_be_changed_through_the_services(customer, other_customer):
    theirs = add(other_customer, GB)

    for call in (
        lambda: services.update_address(user_id=customer.pk, address_id=theirs.pk, address=US),
        lambda: services.delete_address(user_id=customer.pk, address_id=theirs.pk),
        lambda: services.set_default(user_id=customer.pk, address_id=theirs.pk, kind="shipping"),
        lambda: selectors.address_of(user_id=customer.pk, address_id=theirs.pk),
    ):
        with pytest.raises(NotFound):
            call()
    theirs.refresh_from_db()
    assert theirs.as_address() == GB


def test_the_data_export_lists_the_book(customer):
    add(customer, US)

    (exported,) = selectors.export_addresses(user_id=customer.pk)

    assert {key: exported[key] for key in US} == US and exported["is_default_shipping"] is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_defaults_leave_exactly_one_of_each(customer):
    book = [add(customer, address) for address in (US, DE, JP, GB)]
    calls = [
        (lambda saved=saved, kind=kind: services.set_default(user_id=customer.pk, address_id=saved.pk, kind=kind))
        for saved in book for kind in ("shipping", "billing")
    ]
    crew = Crew(len(calls))
    try:
        outcomes = crew.run(calls)
    finally:
        crew.stop()

    assert [outcome.error for outcome in outcomes] == [None] * len(calls)
    shipping, billing = defaults_of(customer)
    assert len(shipping) == 1 and len(billing) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_addresses_make_one_default(customer):
    calls = [(lambda address=address: add(customer, address)) for address in (US, DE, JP, GB)]
    crew = Crew(len(calls))
    try:
        outcomes = crew.run(calls)
    finally:
        crew.stop()

    assert [outcome.error for outcome in outcomes] == [None] * len(calls)
    assert SavedAddress.objects.filter(user=customer).count() == 4
    shipping, billing = defaults_of(customer)
    assert len(shipping) == 1 and len(billing) == 1


def test_deleting_the_whole_book_leaves_other_customers_alone(customer, other_customer):
    add(customer, US)
    add(customer, DE)
    add(other_customer, GB)

    assert services.delete_address_book(user_id=customer.pk) == 2

    assert not SavedAddress.objects.filter(user=customer).exists()
    assert SavedAddress.objects.filter(user=other_customer).count() == 1
