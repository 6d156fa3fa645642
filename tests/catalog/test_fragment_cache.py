"""Rendered fragments kept by what they show (shop/fragments.py): the product page's
content, the list's cards, the header's currency and language forms and its category
links are rendered once and then read from the process's cache, and a page shows the
same thing cached or not: a change of stock, price, rate, picture, name or language is on
the very next request, and every shopper posts their own CSRF token."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

import inventory.services as inventory
from catalog.models import Category, Product, ProductImage, Variant
from inventory.models import StockMovement
from tests.support.pages import session_cart
from tests.support.rates import store_rates

PAGE = "/products/linen-shirt/"
TOKEN = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)" form="add-to-cart">')


@pytest.fixture
def client(db) -> Client:
    return Client()


def rendered(response) -> set[str]:
    return {template.name for template in response.templates}


def without_tokens(html: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html.decode())


def test_the_product_page_is_rendered_once_and_then_read_from_the_cache(client, shirt_sizes):
    first, second = client.get(PAGE), client.get(PAGE)

    assert "catalog/_product_page.html" in rendered(first)
    assert "catalog/_product_page.html" not in rendered(second)
    assert without_tokens(first.content) == without_tokens(second.content)
    assertContains(second, '<span class="variant-left">Only 2 left</span>', html=True)


def test_a_stock_change_is_on_the_next_request(client, shirt_sizes):
    client.get(PAGE)
    inventory.adjust(variant_id=shirt_sizes["M"].pk, delta=-2, reason=StockMovement.Reason.DAMAGED)
    inventory.adjust(variant_id=shirt_sizes["L"].pk, delta=5, reason=StockMovement.Reason.RECEIVED)

    page = client.get(PAGE)

    assert "catalog/_product_page.html" in rendered(page)
    assertContains(page, f'<input type="radio" name="variant" id="variant-{shirt_sizes["M"].pk}" value="SHIRT-M" disabled>', html=True)
    assertContains(page, f'<input type="radio" name="variant" id="variant-{shirt_sizes["L"].pk}" value="SHIRT-L">', html=True)
    assertNotContains(page, "Only 2 left")


def test_another_shoppers_reservation_is_on_the_next_request(client, shirt_sizes, make_cart):
    from checkout import services as checkout

    client.get(PAGE)
    cart = make_cart({shirt_sizes["M"]: 1})
    checkout.start_checkout(cart_id=cart.pk)

    assertContains(client.get(PAGE), '<span class="variant-left">Only 1 left</span>', html=True)


def test_a_price_a_rate_and_a_name_are_on_the_next_request(client, shirt_sizes):
    store_rates({"EUR": "0.9215"})
    client.get(PAGE)
    Variant.objects.filter(sku="SHIRT-S").update(price=Decimal("31.00"))
    Product.objects.filter(slug="linen-shirt").update(name="Linen shirt, washed")

    page = client.get(PAGE)
    assertContains(page, '<span class="variant-price">$31.00</span>', html=True)
    assertContains(page, '<h1 class="page-title">Linen shirt, washed</h1>', html=True)

    client.post("/currency/", {"currency": "EUR", "next": PAGE})
    assertContains(client.get(PAGE), '<span class="variant-price">€28.57</span>', html=True)  # 31.00 x 0.9215
    store_rates({"EUR": "0.9500"})
    assertContains(client.get(PAGE), '<span class="variant-price">€29.45</span>', html=True)  # 31.00 x 0.95


def test_a_new_picture_is_on_the_next_request(client, shirt_sizes):
    client.get(PAGE)
    ProductImage.objects.create(product=shirt_sizes["S"].product, image="products/shirt.png", alt="The shirt, folded", width=10, height=10)

    assertContains(client.get(PAGE), 'alt="The shirt, folded"')


def test_each_shopper_posts_their_own_token_with_the_cached_page(shirt_sizes):
    ada, bob = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    ada_page, bob_page = ada.get(PAGE), bob.get(PAGE)
    assert "catalog/_product_page.html" not in rendered(bob_page)
    ada_token, bob_token = TOKEN.search(ada_page.content.decode())[1], TOKEN.search(bob_page.content.decode())[1]

    refused = bob.post("/cart/add/linen-shirt/", {"variant": "SHIRT-S", "quantity": 1, "csrfmiddlewaretoken": "x" * 64})
    assert refused.status_code == 403
    assert session_cart(bob) is None

    added = bob.post("/cart/add/linen-shirt/", {"variant": "SHIRT-S", "quantity": 1, "csrfmiddlewaretoken": bob_token})
    assert added.status_code == 302
    assert [(line.variant.sku, line.quantity) for line in session_cart(bob).lines.all()] == [("SHIRT-S", 1)]
    assert ada.post("/cart/add/linen-shirt/", {"variant": "SHIRT-S", "quantity": 2, "csrfmiddlewaretoken": ada_token}).status_code == 302


def test_a_refused_add_shows_its_message_and_the_next_page_does_not(client, shirt_sizes):
    client.get(PAGE)
    refused = client.post("/cart/add/linen-shirt/", {"variant": "SHIRT-S", "quantity": 0})

    assert refused.status_code == 400
    assert 'aria-invalid="true"' in refused.content.decode()
    assertNotContains(client.get(PAGE), 'aria-invalid="true"')


def test_each_language_and_money_locale_has_its_own_page(client, shirt_sizes):
    store_rates({"EUR": "0.9215"})
    client.post("/currency/", {"currency": "EUR", "next": PAGE})
    english = client.get(PAGE)
    german = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="de-DE")
    swiss = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="de-CH")
    english_again = client.get(PAGE)

    assertContains(english, "Choose an option")
    assertContains(german, "27,65\xa0€")
    assertContains(swiss, "EUR\xa027.65")
    assertNotContains(german, "Choose an option")
    assert without_tokens(english.content) == without_tokens(english_again.content)


def test_list_cards_are_cached_and_show_a_change_on_the_next_request(client, shirt_sizes):
    first, second = client.get("/"), client.get("/")
    assert "catalog/_product_card.html" in rendered(first)
    assert "catalog/_product_card.html" not in rendered(second)
    assert without_tokens(first.content) == without_tokens(second.content)

    inventory.adjust(variant_id=shirt_sizes["S"].pk, delta=-20, reason=StockMovement.Reason.DAMAGED)
    Product.objects.filter(slug="linen-shirt").update(name="Linen shirt, washed")

    page = client.get("/")
    assertContains(page, '<a href="/products/linen-shirt/">Linen shirt, washed</a>', html=True)
    assertContains(page, '<span class="badge badge-low-stock">Low stock</span>', html=True)


def test_the_header_forms_go_back_to_each_page_and_category_links_follow_a_rename(client, shirt_sizes):
    Category.objects.create(slug="shirts", name="Shirts")
    client.get("/")

    product = client.get(PAGE)
    assertContains(product, f'<input type="hidden" name="next" value="{PAGE}">', html=True, count=2)
    assertContains(product, '<input type="hidden" name="csrfmiddlewaretoken" value="', count=3)  # currency, language, add to cart

    Category.objects.filter(slug="shirts").update(name="Shirts and blouses")
    category = client.get("/category/shirts/")
    assertContains(category, '<a href="/category/shirts/" aria-current="page">Shirts and blouses</a>', html=True)
    assertContains(client.get("/"), '<a href="/category/shirts/">Shirts and blouses</a>', html=True)
