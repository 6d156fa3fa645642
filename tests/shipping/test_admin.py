"""Shipping in the admin: zones with their countries by name and their active methods
with prices, methods with their delivery window and weight steps; a country in two zones,
a second rest-of-world zone and a delivery window that ends before it starts are refused
next to their fields; a method's code is fixed; view-only staff change nothing."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from shipping.models import ShippingMethod, ShippingZone, WeightStep
from tests.support.shipping import make_method, make_zone

@pytest.fixture
def europe(db):
    zone = make_zone("Europe", ["DE", "FR"], position=1)
    standard = make_method(code="standard", name="Standard", price="5.00", free_over="50.00", zone=zone, min_days=3, max_days=5)
    make_method(code="express", name="Express", price="15.00", zone=zone, min_days=1, max_days=1)
    make_method(code="pigeon", name="Pigeon", price="1.00", zone=zone, is_active=False)
    return {"zone": zone, "standard": standard}


@pytest.fixture
def view_only(db):
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw-viewer-1", is_staff=True)
    for codename in ("view_shippingzone", "view_shippingmethod", "view_weightstep"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def zone_data(zone: ShippingZone | None = None, **changes) -> dict:
    """What the zone page posts: the zone's fields and its methods as inline rows."""
    methods = list(zone.methods.order_by("id")) if zone else []
    data = {
        "name": zone.name if zone else "",
        "countries": [str(code) for code in zone.countries] if zone else [],
        "position": zone.position if zone else 0,
        "methods-TOTAL_FORMS": len(methods),
        "methods-INITIAL_FORMS": len(methods),
        "methods-MIN_NUM_FORMS": 0,
        "methods-MAX_NUM_FORMS": 1000,
    }
    if zone and zone.rest_of_world:
        data["rest_of_world"] = "on"
    for n, method in enumerate(methods):
        data.update({
            f"methods-{n}-id": method.pk, f"methods-{n}-zone": zone.pk, f"methods-{n}-name": method.name,
            f"methods-{n}-price_usd": method.price_usd, f"methods-{n}-free_over_usd": method.free_over_usd or "",
            f"methods-{n}-min_days": method.min_days, f"methods-{n}-max_days": method.max_days,
            f"methods-{n}-position": method.position,
        })
        if method.is_active:
            data[f"methods-{n}-is_active"] = "on"
    data.update(changes)
    return data


def method_data(method: ShippingMethod, **changes) -> dict:
    steps = list(method.weight_steps.order_by("up_to_grams"))
    data = {
        "zone": method.zone_id, "name": method.name, "price_usd": method.price_usd, "free_over_usd": method.free_over_usd or "",
        "min_days": method.min_days, "max_days": method.max_days, "position": method.position,
        "weight_steps-TOTAL_FORMS": len(steps), "weight_steps-INITIAL_FORMS": len(steps),
        "weight_steps-MIN_NUM_FORMS": 0, "weight_steps-MAX_NUM_FORMS": 1000,
    }
    if method.is_active:
        data["is_active"] = "on"
    for n, step in enumerate(steps):
        data.update({
            f"weight_steps-{n}-id": step.pk, f"weight_steps-{n}-method": method.pk,
            f"weight_steps-{n}-up_to_grams": step.up_to_grams, f"weight_steps-{n}-price_usd": step.price_usd,
        })
    data.update(changes)
    return data


# --- pages --------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["changelist", "add"])
@pytest.mark.parametrize("model", ["shippingzone", "shippingmethod"])
def test_list_and_add_pages_load_for_a_superuser(admin_client, europe, model, page):
    assert admin_client.get(reverse(f"admin:shipping_{model}_{page}")).status_code == 200


def test_the_zone_page_shows_its_methods_inline(admin_client, europe):
    response = admin_client.get(reverse("admin:shipping_shippingzone_change", args=[europe["zone"].pk]))

    assert response.status_code == 200
    (methods,) = response.context["inline_admin_formsets"]
    assert [form.instance.code for form in methods.formset.forms] == ["standard", "express", "pigeon"]
    assert methods.formset.forms[0].fields["code"].disabled  # fixed once created


def test_the_zone_list_reads_country_names_and_active_methods_with_prices(admin_client, europe):
    ShippingZone.objects.create(name="Rest of world", rest_of_world=True, position=9)

    response = admin_client.get(reverse("admin:shipping_shippingzone_changelist"))

    assertContains(response, "France, Germany")
    assertContains(response, "Standard $5.00, free from $50.00; Express $15.00")
    assertNotContains(response, "Pigeon")  # inactive
    assertContains(response, "every other country")


def test_a_country_name_finds_its_zone(admin_client, europe):
    make_zone("North America", ["US", "CA"])

    response = admin_client.get(reverse("admin:shipping_shippingzone_changelist"), {"q": "germany"})

    assert [zone.name for zone in response.context["cl"].result_list] == ["Europe"]


def test_the_method_list_shows_price_threshold_and_delivery_window_and_filters_by_zone(admin_client, europe):
    other = make_zone("Asia", ["JP"])
    make_method(code="standard", name="Standard", price="9.00", zone=other)
    WeightStep.objects.create(method=europe["standard"], up_to_grams=1000, price_usd=Decimal("4.00"))
    WeightStep.objects.create(method=europe["standard"], up_to_grams=5000, price_usd=Decimal("12.00"))
    url = reverse("admin:shipping_shippingmethod_changelist")

    response = admin_client.get(url, {"zone__id__exact": europe["zone"].pk})

    assert [method.code for method in response.context["cl"].result_list] == ["standard", "express", "pigeon"]
    assertContains(response, "3–5\u00a0days")
    assertContains(response, "1\u00a0day")
    assertContains(response, "by weight, $4.00–$12.00")
    assertContains(response, "$50.00")
    assertContains(response, "never free")


def test_the_method_page_has_its_weight_steps_inline(admin_client, europe):
    WeightStep.objects.create(method=europe["standard"], up_to_grams=1000, price_usd=Decimal("4.00"))

    response = admin_client.get(reverse("admin:shipping_shippingmethod_change", args=[europe["standard"].pk]))

    (steps,) = response.context["inline_admin_formsets"]
    assert [form.instance.up_to_grams for form in steps.formset.forms] == [1000]


# --- refusals -----------------------------------------------------------------------------


def test_a_country_already_in_another_zone_is_refused_next_to_the_field(admin_client, europe):
    response = admin_client.post(
        reverse("admin:shipping_shippingzone_add"), zone_data(name="Benelux", countries=["BE", "FR"])
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["countries"] == ["Already in another zone: FR (in Europe)."]
    assert not ShippingZone.objects.filter(name="Benelux").exists()


def test_a_zone_keeps_its_own_countries_when_saved_again(admin_client, europe):
    zone = europe["zone"]

    response = admin_client.post(
        reverse("admin:shipping_shippingzone_change", args=[zone.pk]), zone_data(zone, countries=["DE", "FR", "AT"])
    )

    assert response.status_code == 302
    zone.refresh_from_db()
    assert sorted(str(code) for code in zone.countries) == ["AT", "DE", "FR"]


def test_a_second_rest_of_world_zone_is_refused_next_to_the_field(admin_client, europe):
    ShippingZone.objects.create(name="Rest of world", rest_of_world=True)

    response = admin_client.post(
        reverse("admin:shipping_shippingzone_add"), zone_data(name="Elsewhere", rest_of_world="on")
    )

    assert response.context["adminform"].form.errors["rest_of_world"] == [
        "“Rest of world” is already the rest-of-world zone; only one zone can be."
    ]


def test_a_zone_with_no_country_that_is_not_rest_of_world_is_refused(admin_client, db):
    response = admin_client.post(reverse("admin:shipping_shippingzone_add"), zone_data(name="Nowhere"))

    assert "countries" in response.context["adminform"].form.errors
    assert not ShippingZone.objects.exists()


def test_a_delivery_window_that_ends_before_it_starts_is_refused_next_to_the_field(admin_client, europe):
    method = europe["standard"]

    response = admin_client.post(
        reverse("admin:shipping_shippingmethod_change", args=[method.pk]), method_data(method, min_days=6, max_days=2)
    )

    assert response.context["adminform"].form.errors["max_days"] == ["Delivery cannot end before it starts (from 6 days)."]
    method.refresh_from_db()
    assert (method.min_days, method.max_days) == (3, 5)


def test_a_methods_code_is_fixed_once_created(admin_client, europe):
    zone, method = europe["zone"], europe["standard"]

    response = admin_client.post(
        reverse("admin:shipping_shippingzone_change", args=[zone.pk]),
        zone_data(zone, **{"methods-0-code": "renamed", "methods-0-price_usd": "6.50"}),
    )

    assert response.status_code == 302
    method.refresh_from_db()
    assert (method.code, method.price_usd) == ("standard", Decimal("6.50"))


def test_methods_are_deactivated_not_deleted(admin_client, europe):
    method = europe["standard"]

    assert admin_client.get(reverse("admin:shipping_shippingmethod_delete", args=[method.pk])).status_code == 403
    assert ShippingMethod.objects.filter(pk=method.pk).exists()


# --- view-only staff ------------------------------------------------------------------------


def test_view_only_staff_see_zones_and_methods_but_change_nothing(view_only, europe):
    zone, method = europe["zone"], europe["standard"]
    zone_url = reverse("admin:shipping_shippingzone_change", args=[zone.pk])
    method_url = reverse("admin:shipping_shippingmethod_change", args=[method.pk])

    assert view_only.get(reverse("admin:shipping_shippingzone_changelist")).status_code == 200
    page = view_only.get(zone_url)
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assertNotContains(page, 'name="_save"')
    assert view_only.get(method_url).status_code == 200
    assert view_only.get(reverse("admin:shipping_shippingzone_add")).status_code == 403

    assert view_only.post(zone_url, zone_data(zone, name="Renamed")).status_code == 403
    assert view_only.post(method_url, method_data(method, name="Renamed")).status_code == 403
    zone.refresh_from_db()
    method.refresh_from_db()
    assert (zone.name, method.name) == ("Europe", "Standard")
