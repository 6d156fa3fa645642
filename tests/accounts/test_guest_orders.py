"""Guest orders find their owner: once an email address is verified, the orders placed
with it as a guest (any letter case, no customer yet) join the account, in one UPDATE;
an unverified address never links anything; an order of another customer stays theirs
and answers 404 to everyone else."""
from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from cart.pricing import price_cart
from orders import services as orders_services
from orders.models import Order

PASSWORD = "linen-shirt-42"


@pytest.fixture
def client(db) -> Client:
    return Client()


@pytest.fixture
def place_order(ready_cart, make_variant):
    """place_order(email, user=None) -> a paid order made by orders.services from a cart
    in checkout (the API's path to payment), as a guest unless `user` is given."""
    lamp = make_variant("LAMP-1", price="40.00", on_hand=50)

    def place(email: str, *, user=None) -> Order:
        cart = ready_cart({lamp: 1}, email=email)
        if user is not None:
            cart.user = user
        with transaction.atomic():
            return orders_services.create_order(cart=cart, totals=price_cart(cart), authorized_only=False, now=timezone.now())

    return place


def verified_customer(email: str = "ada@example.com"):
    user = get_user_model().objects.create_user(username=email.split("@")[0], email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def log_in(client: Client, email: str) -> None:
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    assert response.status_code == 302, response.content


def confirmation_link() -> str:
    found = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+)", mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(1)


def owner_id(order: Order) -> int | None:
    order.refresh_from_db()
    return order.user_id


# --- orders.services.link_guest_orders ------------------------------------------------------


def test_link_guest_orders_takes_guest_orders_of_the_address_in_any_case_in_one_update(place_order, django_assert_num_queries):
    ada = verified_customer()
    bob = verified_customer("bob@example.com")
    first, second = place_order("Ada@Example.com"), place_order("ada@example.com")
    bobs = place_order("ada@example.com", user=bob)  # placed by bob while logged in, with ada's address
    other = place_order("someone@example.com")

    with django_assert_num_queries(1):
        linked = orders_services.link_guest_orders(email="ADA@example.COM", user_id=ada.pk)

    assert linked == 2
    assert (owner_id(first), owner_id(second), owner_id(bobs), owner_id(other)) == (ada.pk, ada.pk, bob.pk, None)
    assert orders_services.link_guest_orders(email="ada@example.com", user_id=ada.pk) == 0


# --- linked when the address is verified, never before ----------------------------------------


def test_guest_orders_join_the_account_when_its_address_is_verified(client, place_order):
    order = place_order("Ada@Example.com")
    client.post("/accounts/signup/", {"email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD})
    ada = get_user_model().objects.get(email="ada@example.com")

    assert owner_id(order) is None  # signed up, not yet verified
    client.post(confirmation_link())

    assert owner_id(order) == ada.pk
    log_in(client, "ada@example.com")
    assertContains(client.get("/account/"), order.number)
    assertContains(client.get("/orders/"), order.number)
    assert client.get(f"/orders/{order.number}/").status_code == 200


def test_an_unverified_address_never_links_anything(client, place_order):
    order = place_order("ada@example.com")
    client.post("/accounts/signup/", {"email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD})
    ada = get_user_model().objects.get(email="ada@example.com")

    # a login attempt before verification (refused), and a login that somehow happens
    client.post("/accounts/login/", {"login": "ada@example.com", "password": PASSWORD})
    other_browser = Client()
    other_browser.force_login(ada)

    assert owner_id(order) is None
    assert other_browser.get(f"/orders/{order.number}/").status_code == 404
    assertNotContains(other_browser.get("/orders/"), order.number)


def test_a_changed_address_links_its_orders_only_once_verified(client, place_order):
    ada = verified_customer()
    order = place_order("ada@lovelace.example")
    log_in(client, "ada@example.com")

    client.post("/accounts/email/", {"action_add": "", "email": "ada@lovelace.example"})
    log_in(Client(), "ada@example.com")  # a login while the new address waits

    assert owner_id(order) is None
    client.post(confirmation_link())

    assert owner_id(order) == ada.pk


def test_orders_placed_as_a_guest_after_verification_join_at_the_next_login(client, place_order):
    ada = verified_customer()
    order = place_order("ada@example.com")  # checked out without logging in

    log_in(client, "ada@example.com")

    assert owner_id(order) == ada.pk


def test_staff_marking_an_address_verified_links_its_orders(place_order, admin_client):
    user = get_user_model().objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)
    address = EmailAddress.objects.create(user=user, email="ada@example.com", verified=False, primary=True)
    order = place_order("ada@example.com")

    admin_client.post("/admin/account/emailaddress/", {"action": "make_verified", "_selected_action": [address.pk]})

    assert owner_id(order) == user.pk


# --- another customer's order ---------------------------------------------------------------------


def test_another_customers_order_stays_theirs_and_answers_404(client, place_order):
    bob = verified_customer("bob@example.com")
    bobs = place_order("ada@example.com", user=bob)
    ada_guest = place_order("ada@example.com")
    verified_customer()

    log_in(client, "ada@example.com")

    assert owner_id(bobs) == bob.pk and owner_id(ada_guest) is not None
    assert client.get(f"/orders/{bobs.number}/").status_code == 404
    assert client.get(f"/orders/{ada_guest.number}/").status_code == 200
    listing = client.get("/orders/").content.decode()
    assert ada_guest.number in listing and bobs.number not in listing
