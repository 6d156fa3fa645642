"""Tax rates in the admin: listed by country name with region, category, rate as a
percentage and whether shipping is taxed; filtered by country and category; found by
country code or name or region; a second rate for the same place and products, or a rate
over 100%, refused next to its field; view-only staff change nothing."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from catalog.models import Category
from taxes.models import TaxRate


@pytest.fixture
def rates(db):
    books = Category.objects.create(name="Books", slug="books")
    return {
        "books": books,
        "de": TaxRate.objects.create(country="DE", name="VAT", rate=Decimal("19.00")),
        "de_books": TaxRate.objects.create(country="DE", category=books, name="VAT", rate=Decimal("7.00"), shipping_taxable=False),
        "us_ca": TaxRate.objects.create(country="US", region="CA", name="Sales tax", rate=Decimal("7.25"), shipping_taxable=False),
        "fr": TaxRate.objects.create(country="FR", name="TVA", rate=Decimal("20.00")),
    }


def rate_data(**changes) -> dict:
    data = {"country": "DE", "region": "", "category": "", "name": "VAT", "rate": "19", "shipping_taxable": "on"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def listed(response) -> list[str]:
    return [str(rate) for rate in response.context["cl"].result_list]


URL = "admin:taxes_taxrate_changelist"


@pytest.mark.parametrize("page", ["changelist", "add"])
def test_list_and_add_pages_load_for_a_superuser(admin_client, rates, page):
    assert admin_client.get(reverse(f"admin:taxes_taxrate_{page}")).status_code == 200


def test_the_change_page_loads_for_a_superuser(admin_client, rates):
    assert admin_client.get(reverse("admin:taxes_taxrate_change", args=[rates["de_books"].pk])).status_code == 200


def test_the_list_reads_country_names_regions_categories_and_rates(admin_client, rates):
    response = admin_client.get(reverse(URL))

    assertContains(response, "DE – Germany")
    assertContains(response, "US – United States of America")
    assertContains(response, "whole\u00a0country")
    assertContains(response, "every product")
    assertContains(response, "19%")
    assertContains(response, "7.25%")
    assertNotContains(response, "19.00")
    # Country by country, the rate for every product before a category's.
    assert listed(response) == ["VAT 19% (DE)", "VAT 7% (DE, Books)", "TVA 20% (FR)", "Sales tax 7.25% (US-CA)"]


@pytest.mark.parametrize(
    "query,expected",
    [
        ({"country": "US"}, ["Sales tax 7.25% (US-CA)"]),
        ({"category__id__exact": "BOOKS"}, ["VAT 7% (DE, Books)"]),
        ({"q": "germany"}, ["VAT 19% (DE)", "VAT 7% (DE, Books)"]),
        ({"q": "fr"}, ["TVA 20% (FR)"]),
        ({"q": "ca"}, ["Sales tax 7.25% (US-CA)"]),
    ],
)
def test_rates_are_filtered_by_country_and_category_and_found_by_code_name_or_region(admin_client, rates, query, expected):
    if query.get("category__id__exact") == "BOOKS":
        query = {"category__id__exact": rates["books"].pk}

    assert listed(admin_client.get(reverse(URL), query)) == expected


def test_the_country_filter_offers_only_countries_with_rates(admin_client, rates):
    response = admin_client.get(reverse(URL))

    (country_filter,) = [spec for spec in response.context["cl"].filter_specs if spec.title == "country"]
    assert [choice["display"] for choice in country_filter.choices(response.context["cl"])][1:] == [
        "France", "Germany", "United States of America"
    ]


def test_a_new_rate_is_saved_with_its_region_upper_case(admin_client, rates):
    response = admin_client.post(reverse("admin:taxes_taxrate_add"), rate_data(country="US", region=" ny ", name="Sales tax", rate="4"))

    assert response.status_code == 302
    assert TaxRate.objects.get(country="US", region="NY").rate == Decimal("4.00")


@pytest.mark.parametrize(
    "changes,field",
    [
        ({}, "country"),  # Germany has a rate for every product
        ({"category": "BOOKS", "rate": "5"}, "category"),
        ({"country": "US", "region": "ca", "name": "Sales tax", "rate": "8"}, "region"),
    ],
)
def test_a_second_rate_for_the_same_place_and_products_is_refused_next_to_the_field(admin_client, rates, changes, field):
    if changes.get("category") == "BOOKS":
        changes = {**changes, "category": rates["books"].pk}
    before = TaxRate.objects.count()

    response = admin_client.post(reverse("admin:taxes_taxrate_add"), rate_data(**changes))

    assert response.status_code == 200
    (message,) = response.context["adminform"].form.errors[field]
    assert message.endswith("Change that one instead.")
    assert TaxRate.objects.count() == before


def test_the_message_names_the_rate_already_there(admin_client, rates):
    response = admin_client.post(reverse("admin:taxes_taxrate_add"), rate_data(rate="16"))

    assert response.context["adminform"].form.errors["country"] == [
        "Germany already has a rate for every product: VAT 19%. Change that one instead."
    ]


def test_a_rate_may_be_saved_again_unchanged(admin_client, rates):
    rate = rates["de"]

    response = admin_client.post(reverse("admin:taxes_taxrate_change", args=[rate.pk]), rate_data(rate="19.5"))

    assert response.status_code == 302
    rate.refresh_from_db()
    assert rate.rate == Decimal("19.50")


@pytest.mark.parametrize("value", ["100.5", "-1"])
def test_a_rate_outside_0_to_100_is_refused_next_to_the_field(admin_client, db, value):
    response = admin_client.post(reverse("admin:taxes_taxrate_add"), rate_data(rate=value))

    assert "rate" in response.context["adminform"].form.errors
    assert not TaxRate.objects.exists()


def test_view_only_staff_see_the_rates_but_change_nothing(db, rates):
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw-viewer-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_taxrate"))
    client = Client()
    client.force_login(user)
    rate = rates["de"]
    url = reverse("admin:taxes_taxrate_change", args=[rate.pk])

    assert client.get(reverse(URL)).status_code == 200
    page = client.get(url)
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert client.get(reverse("admin:taxes_taxrate_add")).status_code == 403
    assert client.post(url, rate_data(rate="25")).status_code == 403
    assert client.post(reverse("admin:taxes_taxrate_delete", args=[rate.pk]), {"post": "yes"}).status_code == 403

    rate.refresh_from_db()
    assert rate.rate == Decimal("19.00")
