"""A small storefront for the browser tests of every page (accessibility, phone layout,
the payment step): two categories, a shirt in three sizes, a few more products, two
shipping methods, and helpers to open a browser page on a guest's cart at any checkout step.

Not a fixture plugin: the e2e modules import what they use. Database work happens in
fixtures, before `chromium` opens (tests/support/browser_fixtures.py).
"""
from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.test import Client
from moneyed import Money

from cart.models import Cart
from catalog.models import Category, Product
from tests.support.pages import use_cart
from tests.support.shipping import make_method

PHONE_NARROW = {"width": 320, "height": 640}
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
PAY = re.compile(r"^Pay ")

# Pages anyone can open (no cart needed); the search ones once with results, once without.
PUBLIC_PAGES = {
    "home": "/",
    "category": "/category/shirts/",
    "search": "/?q=linen",
    "search-nothing-found": "/?q=zzqxv",
    "product": "/products/linen-shirt/",
    "login": "/accounts/login/",
    "signup": "/accounts/signup/",
}
CHECKOUT_PAGES = {
    "cart": "/cart/",
    "checkout-address": "/checkout/address/",
    "checkout-shipping": "/checkout/shipping/",
    "checkout-payment": "/checkout/payment/",
}


@pytest.fixture
def storefront(make_variant):
    """Shirts and Accessories, a linen shirt in S/M/L at 19.99 USD, four more products
    (one of them sold out) and two shipping methods; returns the shirt's M."""
    shirts = Category.objects.create(name="Shirts", slug="shirts")
    accessories = Category.objects.create(name="Accessories", slug="accessories")
    for name in ("Knitwear", "Outerwear", "Trousers", "T-shirts"):
        Category.objects.create(name=name, slug=name.lower())
    shirt = Product.objects.create(
        slug="linen-shirt", name="Linen shirt", description="A shirt of washed linen, cool in summer.", category=shirts
    )
    make_variant("SHIRT-S", price="19.99", on_hand=10, product=shirt, size="S")
    medium = make_variant("SHIRT-M", price="19.99", on_hand=10, product=shirt, size="M")
    make_variant("SHIRT-L", price="21.50", on_hand=0, product=shirt, size="L")
    for n, (name, category) in enumerate(
        [("Oxford shirt", shirts), ("Canvas tote", accessories), ("Wool scarf", accessories), ("Chambray shirt", shirts)]
    ):
        product = Product.objects.create(slug=f"item-{n}", name=name, category=category, description=f"{name}.")
        make_variant(f"ITEM-{n}", price=f"{25 + n}.00", on_hand=0 if n == 3 else 5, product=product)
    make_method(code="standard", name="Standard", price=Money(Decimal("4.99"), "USD"), position=1)
    make_method(code="express", name="Express", price=Money(Decimal("12.50"), "USD"), position=2)
    return medium


@pytest.fixture
def cart_at_payment(storefront, ready_cart):
    """A guest's cart in checkout with email, address and shipping chosen (the API's
    steps), and a test client whose session holds it."""
    cart = ready_cart({storefront: 2}, shipping_method="standard")
    client = Client()
    use_cart(client, cart)
    return cart, client


@pytest.fixture
def signed_in_client(storefront):
    """A test client signed in as a customer with no orders yet."""
    from django.contrib.auth import get_user_model

    client = Client()
    email = "grace@example.com"
    client.force_login(get_user_model().objects.create_user(username=email, email=email, password="correct horse battery"))
    return client


def session_cookie(client: Client, live_server) -> dict:
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "domain": urlparse(live_server.url).hostname,
        "path": "/",
    }


def open_page(chromium, live_server, viewport: dict, client: Client | None = None):
    """A new browser page at `viewport`, carrying `client`'s session (its cart, its login)."""
    context = chromium.new_context(viewport=viewport)
    if client is not None:
        context.add_cookies([session_cookie(client, live_server)])
    return context.new_page()


def fill_card(page, number: str) -> None:
    """localstripe's card field: plain inputs, labelled by checkout.js."""
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry month (MM)").fill("12")
    page.get_by_label("Expiry year (YY)").fill("34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_label("Card postal code").fill("10001")


def pay_with(page, base: str, number: str) -> None:
    """On the payment step: pay with a card that needs no 3-D Secure; wait for the confirmation."""
    page.get_by_label("Card number").wait_for()
    fill_card(page, number)
    page.get_by_role("button", name=PAY).click()
    page.wait_for_url(f"{base}/checkout/complete/", timeout=30_000)


def cart_status(cart: Cart) -> str:
    return Cart.objects.values_list("status", flat=True).get(pk=cart.pk)
