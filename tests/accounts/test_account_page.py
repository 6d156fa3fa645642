"""The account page (/account/): login required, the customer's latest orders with a link
to all of them, and links to addresses, cards, profile, email, password and privacy; the
profile page edits the customer's name."""
from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains

from cart.pricing import price_cart
from orders import services as orders_services
from orders.models import Order
from tests.support.pages import queries_for

PASSWORD = "linen-shirt-42"


@pytest.fixture
def ada(db):
    user = get_user_model().objects.create_user(username="ada", email="ada@example.com", password=PASSWORD)
    EmailAddress.objects.create(user=user, email="ada@example.com", verified=True, primary=True)
    return user


@pytest.fixture
def signed_in(ada) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def place_order(ready_cart, make_variant):
    lamp = make_variant("LAMP-1", price="40.00", on_hand=50)

    def place(*, user, email: str = "ada@example.com", age: timedelta = timedelta(0)) -> Order:
        cart = ready_cart({lamp: 1}, email=email)
        cart.user = user
        with transaction.atomic():
            order = orders_services.create_order(cart=cart, totals=price_cart(cart), authorized_only=False, now=timezone.now())
        Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - age)
        return order

    return place


def test_account_page_asks_a_visitor_to_log_in(db):
    response = Client().get("/account/")

    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/account/"


def test_account_page_greets_the_customer_and_links_their_settings(signed_in, ada):
    ada.first_name = "Ada"
    ada.save()

    response = signed_in.get("/account/")

    assert response.status_code == 200
    assertContains(response, '<h1 class="page-title">Hello, Ada</h1>', html=True)
    assertContains(response, "Logged in as ada@example.com")
    for href in ("/account/profile/", "/accounts/email/", "/accounts/password/change/"):
        assertContains(response, f'href="{href}"')
    assertContains(response, "No orders yet.")


def test_account_page_lists_the_latest_orders_and_links_all_of_them(signed_in, ada, place_order):
    bob = get_user_model().objects.create_user(username="bob", email="bob@example.com", password=PASSWORD)
    orders = [place_order(user=ada, age=timedelta(days=10 - n)) for n in range(7)]  # oldest first
    bobs = place_order(user=bob, email="bob@example.com")

    response = signed_in.get("/account/")

    html = response.content.decode()
    newest_five = [order.number for order in reversed(orders[2:])]
    assert [number for number in newest_five if number in html] == newest_five
    assert [html.index(number) for number in newest_five] == sorted(html.index(number) for number in newest_five)
    assert orders[0].number not in html and orders[1].number not in html
    assert bobs.number not in html
    assertContains(response, f'href="/orders/{orders[-1].number}/"')
    assertContains(response, '<a href="/orders/">All 7 orders</a>', html=True)
    assertContains(response, "$40.00")


def test_account_page_query_count_does_not_grow_with_orders(signed_in, ada, place_order):
    place_order(user=ada)
    one = queries_for(signed_in, "/account/")
    for _ in range(6):
        place_order(user=ada)

    assert queries_for(signed_in, "/account/") == one


def test_profile_page_saves_the_customers_name(signed_in, ada):
    page = signed_in.get("/account/profile/")
    assertContains(page, '<label for="id_first_name">First name <span class="optional">(optional)</span></label>', html=True)

    response = signed_in.post("/account/profile/", {"first_name": " Ada ", "last_name": "Lovelace"})

    assert response.status_code == 302 and response["Location"] == "/account/"
    ada.refresh_from_db()
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")
    assertContains(signed_in.get("/account/"), "Your name is saved.")


def test_profile_page_shows_an_error_under_its_field(signed_in, ada):
    response = signed_in.post("/account/profile/", {"first_name": "A" * 151, "last_name": ""})

    assert response.status_code == 200
    assertContains(response, 'id="id_first_name_error"')
    ada.refresh_from_db()
    assert ada.first_name == ""


def test_profile_page_asks_a_visitor_to_log_in(db):
    response = Client().get("/account/profile/")

    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/account/profile/"
