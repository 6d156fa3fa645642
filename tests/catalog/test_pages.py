"""The catalog's pages: the product list, category pages and the product page, prices in
the shopper's currency, and constant query counts. (Adding to the cart from the product
page: tests/cart/test_pages.py.)"""
from __future__ import annotations

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from catalog.models import Category, Product
from tests.support.pages import make_products, queries_for, use_cart


@pytest.fixture
def client(db) -> Client:
    return Client()


# --- catalog list -----------------------------------------------------------------------


def test_product_list_shows_cards_with_lowest_price_and_badges(client, shirt_sizes, make_variant):
    socks = Product.objects.create(slug="wool-socks", name="Wool socks")
    make_variant("SOCKS", price="8.00", on_hand=0, product=socks)

    response = client.get("/")

    assert response.status_code == 200
    assertContains(response, '<a href="/products/linen-shirt/">Linen shirt</a>', html=True)
    assertContains(response, "from $30.00")
    assertContains(response, '<span class="badge badge-in-stock">In stock</span>', html=True)
    assertContains(response, "$8.00")
    assertNotContains(response, "from $8.00")
    assertContains(response, '<span class="badge badge-out-of-stock">Out of stock</span>', html=True)
    assertContains(response, 'href="/static/css/shop.css"')


def test_product_list_badge_is_low_stock_when_only_low_variants_remain(client, make_variant):
    make_variant(price="5.00", on_hand=2, threshold=3)

    response = client.get("/")

    assertContains(response, '<span class="badge badge-low-stock">Low stock</span>', html=True)


def test_product_list_pages_by_twenty(client, make_variant):
    make_products(make_variant, 21, variants_each=1)

    first, second = client.get("/"), client.get("/?page=2")

    assert len(first.context["cards"]) == 20
    assertContains(first, "Page 1 of 2")
    assertContains(first, '<a rel="next" href="?page=2">Next &rarr;</a>', html=True)
    assert [card.product.name for card in second.context["cards"]] == ["Product 020"]


@pytest.mark.parametrize("page, shown", [("3", 2), ("999999999999999999999", 2), ("0", 1), ("abc", 1), ("-1", 1), ("1.5", 1)])
def test_product_list_bad_page_number_shows_the_nearest_page(client, make_variant, page, shown):
    """A page past the end shows the last page; zero, negative or not a number, the first."""
    make_products(make_variant, 21, variants_each=1)

    response = client.get(f"/?page={page}")

    assert response.status_code == 200
    assert response.context["page"].number == shown
    assertContains(response, f"Page {shown} of 2")


def test_category_page_lists_its_products_and_subcategories(client, make_variant):
    clothing = Category.objects.create(name="Clothing", slug="clothing")
    shoes = Category.objects.create(name="Shoes", slug="shoes", parent=clothing)
    food = Category.objects.create(name="Food", slug="food")
    for name, category in [("Jacket", clothing), ("Boot", shoes), ("Bread", food)]:
        product = Product.objects.create(slug=name.lower(), name=name, category=category)
        make_variant(product=product)

    response = client.get("/category/clothing/")

    assert response.status_code == 200
    assert [card.product.name for card in response.context["cards"]] == ["Boot", "Jacket"]
    assertContains(response, '<a href="/category/clothing/" aria-current="page">Clothing</a>', html=True)
    assertContains(response, '<a href="/category/food/">Food</a>', html=True)


def test_unknown_category_is_404(client, db):
    assert client.get("/category/nope/").status_code == 404


# --- product page ------------------------------------------------------------------------


def test_product_page_offers_each_variant_with_price_and_availability(client, shirt_sizes):
    response = client.get("/products/linen-shirt/")

    assert response.status_code == 200
    assertContains(response, "<p>Cool in summer.</p>", html=True)
    s, m, l_ = shirt_sizes["S"], shirt_sizes["M"], shirt_sizes["L"]
    assertContains(response, f'<input type="radio" name="variant" id="variant-{s.pk}" value="SHIRT-S" checked>', html=True)
    assertContains(response, f'<input type="radio" name="variant" id="variant-{m.pk}" value="SHIRT-M">', html=True)
    assertContains(response, f'<input type="radio" name="variant" id="variant-{l_.pk}" value="SHIRT-L" disabled>', html=True)
    assertContains(response, '<span class="variant-name">Size: L</span>', html=True)
    assertContains(response, '<span class="variant-price">$32.50</span>', html=True)
    assertContains(response, '<span class="variant-left">Only 2 left</span>', html=True)
    assertContains(response, '<label for="quantity">Quantity</label>', html=True)


def test_product_page_form_posts_to_the_cart(client, shirt_sizes):
    page = client.get("/products/linen-shirt/")

    assertContains(page, '<form class="add-to-cart" method="post" action="/cart/add/linen-shirt/" id="add-to-cart">')


def test_a_form_posted_to_the_product_page_goes_on_to_the_cart_with_its_body(client, shirt_sizes):
    response = client.post("/products/linen-shirt/", {"variant": "SHIRT-S", "quantity": 1}, follow=True)

    assert response.redirect_chain == [("/cart/add/linen-shirt/", 307), ("/cart/", 302)]
    assertContains(response, "Added 1 × Linen shirt – S to your cart.")


def test_unknown_product_is_404_page(client, db):
    response = client.get("/products/nope/")

    assert response.status_code == 404
    assertContains(response, "<h1 class=\"page-title\">Page not found</h1>", status_code=404, html=True)


# --- the shopper's currency ----------------------------------------------------------------


def test_catalog_prices_are_in_the_shoppers_currency(euro_shopper, shirt_sizes):
    listing = euro_shopper.get("/")
    product = euro_shopper.get("/products/linen-shirt/")

    # 30.00 x 0.9215 = 27.645 -> 27.65; 32.50 x 0.9215 = 29.94875 -> 29.95 (half-up, per unit)
    assertContains(listing, "from €27.65")
    assertContains(product, '<span class="variant-price">€27.65</span>', html=True)
    assertContains(product, '<span class="variant-price">€29.95</span>', html=True)
    assertNotContains(listing, "$30.00")


# --- query counts ------------------------------------------------------------------------------


def test_product_list_query_count_does_not_grow_with_products(client, make_variant):
    make_products(make_variant, 1, variants_each=3)
    one = queries_for(client, "/")
    for n in range(19):
        product = Product.objects.create(slug=f"more-{n}", name=f"More {n}")
        for v in range(4):
            make_variant(price=f"{5 + v}.00", on_hand=v, threshold=1, product=product)

    assert Product.objects.count() == 20
    assert queries_for(client, "/") == one


def test_category_page_query_count_does_not_grow_with_products(client, make_variant):
    category = Category.objects.create(name="Clothing", slug="clothing")
    make_products(make_variant, 1, variants_each=2, category=category)
    one = queries_for(client, "/category/clothing/")
    for n in range(19):
        product = Product.objects.create(slug=f"more-{n}", name=f"More {n}", category=category)
        for _ in range(3):
            make_variant(product=product)

    assert queries_for(client, "/category/clothing/") == one


def test_product_page_query_count_does_not_grow_with_variants(client, make_variant):
    few = Product.objects.create(slug="few", name="Few")
    make_variant(product=few)
    many = Product.objects.create(slug="many", name="Many")
    for v in range(8):
        make_variant(product=many, on_hand=v, size=f"S{v}")

    assert queries_for(client, "/products/few/") == queries_for(client, "/products/many/")


def test_catalog_pages_count_a_cart_in_the_header_without_growing(client, make_variant, make_cart):
    variants = [make_variant(on_hand=50) for _ in range(10)]
    use_cart(client, make_cart({variants[0]: 1}))
    one = queries_for(client, "/")
    use_cart(client, make_cart({variant: 1 for variant in variants}))

    assert queries_for(client, "/") == one
