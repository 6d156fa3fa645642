"""Sort orders of the product list (catalog.selectors): natural name order (2 before 10)
by default, relevance when searching, price by the lowest active variant, newest, and
best-selling from the units paid orders sold (catalog.services.record_sales, called by
checkout completion)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains

from catalog import services as catalog_services
from catalog.models import Product
from checkout import completion
from payments import stripe_client


@pytest.fixture
def client(db) -> Client:
    return Client()


def names(response) -> list[str]:
    return [card.product.name for card in response.context["cards"]]


def product(make_variant, name: str, *prices: str, **fields) -> Product:
    made = Product.objects.create(slug=name.lower().replace(" ", "-").replace(".", ""), name=name, **fields)
    for price in prices or ("10.00",):
        make_variant(price=price, product=made)
    return made


def test_names_sort_in_natural_order_by_default(client, make_variant):
    for name in ("Tee no. 10", "Tee no. 2", "tee no. 1", "Tee no. 20", "Apron", "Tee no. 02b"):
        product(make_variant, name)

    expected = ["Apron", "tee no. 1", "Tee no. 2", "Tee no. 02b", "Tee no. 10", "Tee no. 20"]
    assert names(client.get("/")) == expected
    assert names(client.get("/?sort=name")) == expected


def test_price_sorts_by_the_lowest_active_variant_price(client, make_variant):
    product(make_variant, "Scarf", "25.00", "12.00")  # from $12
    product(make_variant, "Belt", "15.00")
    cap = product(make_variant, "Cap", "30.00")
    cheap_but_retired = make_variant(price="1.00", product=cap)
    cheap_but_retired.is_active = False
    cheap_but_retired.save()
    Product.objects.create(slug="empty", name="Empty")  # no variant: last both ways

    assert names(client.get("/?sort=price")) == ["Scarf", "Belt", "Cap", "Empty"]
    assert names(client.get("/?sort=-price")) == ["Cap", "Belt", "Scarf", "Empty"]


def test_equal_prices_fall_back_to_natural_name_order(client, make_variant):
    for name in ("Tee 10", "Tee 9"):
        product(make_variant, name, "10.00")

    assert names(client.get("/?sort=price")) == ["Tee 9", "Tee 10"]


def test_newest_first(client, make_variant):
    old, new, middle = (product(make_variant, name) for name in ("Old", "New", "Middle"))
    now = timezone.now()
    for made, age in ((old, 30), (new, 1), (middle, 10)):
        Product.objects.filter(pk=made.pk).update(created_at=now - timedelta(days=age))

    assert names(client.get("/?sort=newest")) == ["New", "Middle", "Old"]


def test_best_selling_counts_units_sold(client, make_variant):
    mug, lamp, vase = (product(make_variant, name) for name in ("Mug", "Lamp", "Vase"))
    mug_variant, lamp_variant = mug.variants.get(), lamp.variants.get()
    second_lamp = make_variant(price="12.00", product=lamp)

    catalog_services.record_sales({mug_variant.pk: 3})
    catalog_services.record_sales({lamp_variant.pk: 2, second_lamp.pk: 2})

    assert dict(Product.objects.values_list("name", "units_sold")) == {"Mug": 3, "Lamp": 4, "Vase": 0}
    assert names(client.get("/?sort=bestselling")) == ["Lamp", "Mug", "Vase"]


def test_relevance_when_searching_unless_another_order_is_chosen(client, make_variant):
    product(make_variant, "Travel mug", "20.00", description="Not a cup.")
    product(make_variant, "Cup", "25.00")
    product(make_variant, "Plate", "1.00")

    searched = client.get("/?q=cup")

    assert names(searched) == ["Cup", "Travel mug"]
    assertContains(searched, '<option value="" selected>Relevance</option>', html=True)
    assert names(client.get("/?q=cup&sort=price")) == ["Travel mug", "Cup"]
    assert names(client.get("/?q=cup&sort=name")) == ["Cup", "Travel mug"]


def test_the_sort_select_shows_the_order_and_submits_with_the_filters(client, make_variant):
    product(make_variant, "Cup")

    response = client.get("/?sort=newest&in_stock=true")

    assertContains(response, '<option value="newest" selected>Newest</option>', html=True)
    assertContains(response, '<label for="sort">Sort by</label>', html=True)
    assertContains(response, '<select id="sort" name="sort" form="listing-form" data-submit-on-change>')
    assert "Relevance" not in response.content.decode()  # only offered for a search


def test_an_unknown_sort_is_named_and_the_default_order_used(client, make_variant):
    product(make_variant, "Tee 10")
    product(make_variant, "Tee 9")

    response = client.get("/?sort=cheapest")

    assert names(response) == ["Tee 9", "Tee 10"]
    assertContains(response, "Sort by one of: price, -price, name, newest, bestselling.")


# --- best-selling through a real paid checkout ----------------------------------------------


def test_a_paid_order_counts_toward_best_selling_once(api, stripe_emulator, ready_cart, make_variant, django_capture_on_commit_callbacks):
    lamp = make_variant("LAMP-1", price="40.00", on_hand=5)
    cart = ready_cart({lamp: 3})
    response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {})
    assert response.status_code == 200, response.content
    stripe_emulator.confirm_directly(response.json()["payment_intent_id"])
    intent = stripe_client.retrieve_payment_intent(response.json()["payment_intent_id"])

    with django_capture_on_commit_callbacks(execute=True):
        first = completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)
    with django_capture_on_commit_callbacks(execute=True):
        again = completion.complete_checkout(cart_id=cart.pk, payment_intent=intent)  # a duplicated webhook

    assert first.created and not again.created
    assert Product.objects.get(pk=lamp.product_id).units_sold == 3
