"""The shop's pages as a shopper's browser sees them (Django's test client): the linen
shirt the page tests look at, a shopper who chose euros, and helpers for the session cart
and for counting a page's queries.

Fixtures registered for the whole suite in tests/conftest.py (`pytest_plugins`). The page
tests use their own `client` fixture (a test client that also asks for the database)."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cart.models import Cart
from cart.session import SESSION_KEY
from catalog.models import Category, Product
from currencies.choice import SESSION_KEY as CURRENCY_SESSION_KEY
from tests.support.rates import store_rates


@pytest.fixture
def shirt_product(db) -> Product:
    return Product.objects.create(slug="linen-shirt", name="Linen shirt", description="Cool in summer.")


@pytest.fixture
def shirt_sizes(make_variant, shirt_product):
    """Linen shirt in S (plenty, $30), M (2 left, $30), L (none, $32.50)."""
    return {
        "S": make_variant("SHIRT-S", price="30.00", on_hand=20, threshold=3, product=shirt_product, size="S"),
        "M": make_variant("SHIRT-M", price="30.00", on_hand=2, threshold=3, product=shirt_product, size="M"),
        "L": make_variant("SHIRT-L", price="32.50", on_hand=0, threshold=3, product=shirt_product, size="L"),
    }


@pytest.fixture
def euro_shopper(client, db):
    """A shopper who chose EUR, at 0.9215 EUR per USD."""
    store_rates({"EUR": "0.9215"})
    session = client.session
    session[CURRENCY_SESSION_KEY] = "EUR"
    session.save()
    return client


def use_cart(client: Client, cart: Cart) -> None:
    """Bind an existing cart to the client's browser session."""
    session = client.session
    session[SESSION_KEY] = str(cart.pk)
    session.save()


def session_cart(client: Client) -> Cart | None:
    cart_id = client.session.get(SESSION_KEY)
    return Cart.objects.get(pk=cart_id) if cart_id else None


def add_to_cart(client: Client, slug: str, sku: str, quantity) -> object:
    return client.post(f"/cart/add/{slug}/", {"variant": sku, "quantity": quantity})


def queries_for(client: Client, url: str) -> int:
    """Queries of a page once warm: a first request fills the caches (session, rates),
    so sizes are compared on equal terms."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def make_products(make_variant, count: int, *, variants_each: int, category: Category | None = None) -> list[Product]:
    products = []
    for n in range(count):
        product = Product.objects.create(slug=f"p-{n:03d}", name=f"Product {n:03d}", category=category)
        for v in range(variants_each):
            make_variant(price=f"{10 + v}.00", on_hand=v * 2, threshold=1, product=product, size=f"S{v}")
        products.append(product)
    return products


__all__ = [
    "shirt_product", "shirt_sizes", "euro_shopper", "use_cart", "session_cart", "add_to_cart", "queries_for", "make_products",
]
