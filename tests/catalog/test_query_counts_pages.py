"""The shop's busiest pages run a fixed, known number of SQL queries: the list (with search
facets), a product and the cart. The counts are pinned (a new query per page shows up here
and in bench/pages.py) and stay the same with more products, pictures, filter values,
variants and cart lines."""
from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from PIL import Image

from catalog import images
from catalog.models import Category, Product
from tests.support.pages import queries_for, use_cart

# list: count, products, their variants, their images, attribute facets, category and
# in-stock counts (one query), every category (read once for them and the header's links).
LIST_QUERIES = 7
# a category's list: also the category and its subcategories (one query per level).
CATEGORY_LIST_QUERIES = LIST_QUERIES + 2
# product (with its category), its variants with availability, its images, header categories.
PRODUCT_QUERIES = 4
# session, cart, its lines (with variants and products), their availability, their pictures
# (cart.selectors.line_pictures), header categories.
CART_QUERIES = 6

FILTERED = "/?sort=price&in_stock=true&price_min=1&price_max=500&attr.size=M&attr.colour=blue"


def picture(name: str) -> ContentFile:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 150), "steelblue").save(buffer, "PNG")  # small: quick to thumbnail
    return ContentFile(buffer.getvalue(), name=name)


@pytest.fixture
def client(db) -> Client:
    return Client()


@pytest.fixture
def add_products(make_variant):
    """add_products(count, pictures=1, variants=3): products in two categories, sizes and
    colours as attributes, each with its pictures."""
    categories = [Category.objects.create(name="Shirts", slug="shirts"), Category.objects.create(name="Shoes", slug="shoes")]
    made: list[Product] = []

    def add(count: int, *, pictures: int = 1, variants: int = 3) -> list[Product]:
        new = []
        for _ in range(count):
            n = len(made)
            product = Product.objects.create(slug=f"item-{n:03d}", name=f"Item {n:03d}", category=categories[n % 2])
            for v in range(variants):
                make_variant(price=f"{20 + v}.00", on_hand=5, product=product, size="SMLX"[v % 4], colour=["blue", "red", "green"][n % 3])
            for position in range(pictures):
                images.add_image(product=product, file=picture(f"p{position}.png"), name=f"p{position}.png", position=position)
            made.append(product)
            new.append(product)
        return new

    return add


@pytest.mark.parametrize(
    "url, expected", [("/", LIST_QUERIES), (FILTERED, LIST_QUERIES), ("/category/shirts/", CATEGORY_LIST_QUERIES)]
)
def test_list_page_queries_are_pinned_and_do_not_grow(client, add_products, url, expected):
    add_products(2)
    assert queries_for(client, url) == expected

    add_products(30, pictures=3)  # more than a page, three pictures each

    assert queries_for(client, url) == expected


def test_product_page_queries_are_pinned_and_do_not_grow_with_variants_or_pictures(client, add_products):
    small = add_products(1, pictures=0, variants=1)[0]
    large = add_products(1, pictures=5, variants=4)[0]

    assert queries_for(client, small.get_absolute_url()) == PRODUCT_QUERIES
    assert queries_for(client, large.get_absolute_url()) == PRODUCT_QUERIES


def test_cart_page_queries_are_pinned_and_do_not_grow_with_lines(add_products, make_cart):
    products = add_products(6, pictures=2)
    counts = []
    for size in (1, 6):
        browser = Client()
        lines = {product.variants.order_by("id").first(): 1 for product in products[:size]}
        use_cart(browser, make_cart(lines))
        counts.append(queries_for(browser, "/cart/"))

    assert counts == [CART_QUERIES, CART_QUERIES]
