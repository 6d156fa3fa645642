"""The address tests' world: a shop that ships everywhere, a shopper whose session cart
is in checkout, and signed-in customers."""
from __future__ import annotations

import pytest
from django.test import Client

from cart.models import Cart
from cart.session import SESSION_KEY
from tests.support.shipping import make_method, rest_of_world


@pytest.fixture
def ships_everywhere(db):
    rest_of_world()
    make_method(code="standard", name="Standard", price="5.00")


@pytest.fixture
def customer(django_user_model):
    return django_user_model.objects.create_user(username="grace", email="grace@example.com", password="a long passphrase")


@pytest.fixture
def other_customer(django_user_model):
    return django_user_model.objects.create_user(username="ada", email="ada@example.com", password="a long passphrase")


@pytest.fixture
def signed_in(customer) -> Client:
    client = Client()
    client.force_login(customer)
    return client


def start_checkout(client: Client, make_variant, make_cart, user=None) -> Cart:
    """A cart of one lamp in the client's session (and the user's, if signed in), taken
    to the address step."""
    cart = make_cart({make_variant(price="40.00"): 1})
    if user is not None:
        Cart.objects.filter(pk=cart.pk).update(user=user)
    session = client.session
    session[SESSION_KEY] = str(cart.pk)
    session.save()
    assert client.get("/checkout/").status_code == 302
    cart.refresh_from_db()
    assert cart.status == Cart.Status.CHECKOUT
    return cart


@pytest.fixture
def guest_checkout(ships_everywhere, make_variant, make_cart) -> tuple[Client, Cart]:
    client = Client()
    return client, start_checkout(client, make_variant, make_cart)


@pytest.fixture
def customer_checkout(ships_everywhere, signed_in, customer, make_variant, make_cart) -> tuple[Client, Cart]:
    return signed_in, start_checkout(signed_in, make_variant, make_cart, customer)
