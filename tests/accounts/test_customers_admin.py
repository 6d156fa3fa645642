"""The Customers admin: email, name, orders, lifetime value in USD (each order's total at
its own rate, rounded to the cent, cancelled orders left out), last order and date
joined, in one query whatever the number of customers; search by name, email and city;
the customer's orders on their page; "Download data (JSON)" and "Delete and anonymise"
for a request received by email, the second only for staff who may delete users."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from moneyed import Money
from pytest_django.asserts import assertContains, assertNotContains

from accounts.models import Customer
from orders.models import Order

CHANGELIST = "admin:accounts_customer_changelist"


def order_for(make_cart, user, *, total: str, currency: str = "USD", rate: str = "1", status: str = "delivered", name: str = "", city: str = "Springfield", days_ago: int = 0, email: str | None = None) -> Order:
    money = lambda amount: Money(Decimal(amount), currency)  # noqa: E731
    order = Order.objects.create(
        number=f"T-{Order.objects.count() + 1:05d}", cart=make_cart(), user=user, status=status, currency=currency,
        exchange_rate=Decimal(rate), email=email or (user.email if user else "guest@example.com"),
        shipping_address={"name": name or (user.get_full_name() if user else "Guest"), "line1": "1 Main St", "city": city, "postal_code": "12345", "country": "US"},
        subtotal=money(total), shipping=money("0"), tax=money("0"), discount=money("0"), total=money(total), refunded=money("0"),
    )
    if days_ago:
        Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return order


def make_customer(email: str, first: str = "", last: str = ""):
    user = get_user_model().objects.create_user(username=email, email=email, password="pw-customer-1", first_name=first, last_name=last)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture
def customers(db, make_cart):
    """Ada: orders in EUR, JPY (two) and a cancelled one in EUR; Bob: one USD order;
    Cleo: no order."""
    ada = make_customer("ada@example.com", "Ada", "Lovelace")
    EmailAddress.objects.create(user=ada, email="countess@example.org", verified=True, primary=False)
    # In USD, each rounded half-up to the cent: 85.50 / 0.9 = 95.00; 14367 / 151.237 =
    # 94.9966 -> 95.00; 1001 / 151.237 = 6.6187 -> 6.62. The cancelled one is left out.
    order_for(make_cart, ada, total="85.50", currency="EUR", rate="0.9", city="Ockham", days_ago=30)
    order_for(make_cart, ada, total="14367", currency="JPY", rate="151.237", city="Ockham", days_ago=10)
    latest = order_for(make_cart, ada, total="1001", currency="JPY", rate="151.237", name="Augusta King", city="Marylebone", days_ago=2)
    order_for(make_cart, ada, total="50.00", currency="EUR", rate="0.9", status="cancelled", days_ago=1)
    bob = make_customer("bob@example.com", "Bob", "Babbage")
    order_for(make_cart, bob, total="19.99", city="Teignmouth", days_ago=5)
    cleo = make_customer("cleo@example.com", "Cleo", "Nile")
    return {"ada": ada, "bob": bob, "cleo": cleo, "ada_latest": latest}


@pytest.fixture
def view_only(db):
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw-viewer-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "view_order", "view_user"]))
    client = Client()
    client.force_login(user)
    return client


def rows(response) -> dict[str, Customer]:
    return {c.email: c for c in response.context["cl"].result_list}


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_orders_lifetime_value_in_usd_to_the_cent_and_the_last_order(admin_client, customers):
    response = admin_client.get(reverse(CHANGELIST))

    listed = rows(response)
    assert set(listed) == {"ada@example.com", "bob@example.com", "cleo@example.com"}
    ada, bob, cleo = listed["ada@example.com"], listed["bob@example.com"], listed["cleo@example.com"]
    assert (ada.orders_total, ada.lifetime_value_usd) == (4, Decimal("196.62"))
    assert (bob.orders_total, bob.lifetime_value_usd) == (1, Decimal("19.99"))
    assert (cleo.orders_total, cleo.lifetime_value_usd, cleo.last_order) == (0, Decimal("0"), None)
    assert ada.last_order == Order.objects.filter(user=customers["ada"]).order_by("-created_at").first().created_at
    assertContains(response, "$196.62")
    assertContains(response, "Ada Lovelace")
    assertContains(response, "Lifetime value (USD)")


def test_the_list_is_one_query_however_many_customers(admin_client, customers, make_cart):
    url = reverse(CHANGELIST)
    admin_client.get(url)  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for n in range(5):
        order_for(make_cart, make_customer(f"more{n}@example.com", "More", str(n)), total="10.00")
    with CaptureQueriesContext(connection) as many:
        response = admin_client.get(url)

    assert len(rows(response)) == 8
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_list_leaves_staff_out(admin_client, customers):
    assert "admin@example.com" not in rows(admin_client.get(reverse(CHANGELIST)))


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("lovelace", {"ada@example.com"}),  # the account's name
        ("augusta", {"ada@example.com"}),  # a name on one of her orders
        ("countess@example", {"ada@example.com"}),  # a second email address
        ("bob@example.com", {"bob@example.com"}),
        ("marylebone", {"ada@example.com"}),  # a city of her orders
        ("teignmouth", {"bob@example.com"}),
        ("nowhere", set()),
    ],
)
def test_search_by_name_email_and_city(admin_client, customers, term, found):
    response = admin_client.get(reverse(CHANGELIST), {"q": term})

    assert set(rows(response)) == found
    if found == {"ada@example.com"}:  # one row per customer, with the same figures
        assert rows(response)["ada@example.com"].lifetime_value_usd == Decimal("196.62")


def test_the_customer_page_lists_their_orders_linked_to_the_order_admin(admin_client, customers):
    ada = customers["ada"]
    response = admin_client.get(reverse("admin:accounts_customer_change", args=[ada.pk]))

    assert response.status_code == 200
    for order in Order.objects.filter(user=ada):
        assertContains(response, f'<a href="{reverse("admin:orders_order_change", args=[order.pk])}">{order.number}</a>', html=True)
    assertContains(response, "countess@example.org (verified)")
    assertContains(response, reverse("admin:accounts_customer_export", args=[ada.pk]))
    assertContains(response, reverse("admin:accounts_customer_erase", args=[ada.pk]))


# --- the actions ---------------------------------------------------------------------------


def test_download_data_gives_one_customers_json(admin_client, customers):
    ada = customers["ada"]
    response = admin_client.post(reverse(CHANGELIST), {"action": "download_data", "_selected_action": [ada.pk]})

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="customer-{ada.pk}-data-')
    data = json.loads(response.content)
    assert data["profile"]["email"] == "ada@example.com"
    assert len(data["orders"]) == 4 and "bob@example.com" not in response.content.decode()


def test_the_actions_answer_for_one_customer_at_a_time(admin_client, customers):
    both = [customers["ada"].pk, customers["bob"].pk]
    for action in ("download_data", "delete_and_anonymise"):
        response = admin_client.post(reverse(CHANGELIST), {"action": action, "_selected_action": both}, follow=True)
        assertContains(response, "Select exactly one customer")
    assert get_user_model().objects.filter(pk__in=both).count() == 2


def test_delete_and_anonymise_asks_first_then_anonymises_the_orders(admin_client, customers):
    ada = customers["ada"]
    asked = admin_client.post(reverse(CHANGELIST), {"action": "delete_and_anonymise", "_selected_action": [ada.pk]})
    confirm_url = reverse("admin:accounts_customer_erase", args=[ada.pk])
    assert asked.status_code == 302 and asked["Location"] == confirm_url
    page = admin_client.get(confirm_url)
    assertContains(page, "anonymise their 4 orders")
    assert get_user_model().objects.filter(pk=ada.pk).exists()  # nothing yet

    done = admin_client.post(confirm_url, follow=True)

    assertContains(done, f"Customer #{ada.pk} is deleted: 4 order(s) anonymised")
    assert not get_user_model().objects.filter(pk=ada.pk).exists()
    emails = set(Order.objects.exclude(email="bob@example.com").values_list("email", flat=True))
    assert all(email.endswith("@anonymised.invalid") for email in emails) and len(emails) == 4
    assertNotContains(done, "ada@example.com")


def test_an_order_still_to_be_sent_stops_the_admin_too(admin_client, customers, make_cart):
    ada = customers["ada"]
    open_order = order_for(make_cart, ada, total="10.00", status="paid")
    confirm_url = reverse("admin:accounts_customer_erase", args=[ada.pk])

    response = admin_client.post(confirm_url)

    assertContains(response, f"Order {open_order.number} is still to be sent", status_code=409)
    assert get_user_model().objects.filter(pk=ada.pk).exists()


def test_view_only_staff_see_customers_but_cannot_delete_them(view_only, customers):
    ada = customers["ada"]
    listing = view_only.get(reverse(CHANGELIST))
    assert listing.status_code == 200
    assert b"delete_and_anonymise" not in listing.content
    assertNotContains(view_only.get(reverse("admin:accounts_customer_change", args=[ada.pk])), "Delete and anonymise")

    view_only.post(reverse(CHANGELIST), {"action": "delete_and_anonymise", "_selected_action": [ada.pk]})
    confirm_url = reverse("admin:accounts_customer_erase", args=[ada.pk])

    assert view_only.get(confirm_url).status_code == 403
    assert view_only.post(confirm_url).status_code == 403
    assert get_user_model().objects.filter(pk=ada.pk).exists()
    assert Order.objects.filter(user=ada, email="ada@example.com").count() == 4


def test_staff_without_customer_permissions_see_nothing(db, customers):
    user = get_user_model().objects.create_user("packer", "packer@example.com", "pw-packer-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = Client()
    client.force_login(user)

    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reverse("admin:accounts_customer_export", args=[customers["ada"].pk])).status_code == 403


def test_the_users_page_cannot_delete_a_customer_but_still_a_staff_account(admin_client, django_user_model):
    customer = django_user_model.objects.create_user("c@example.com", "c@example.com", "pw-123456789")
    staff = django_user_model.objects.create_user("clerk", "clerk@example.com", "pw-123456789", is_staff=True)

    refused = admin_client.post(reverse("admin:auth_user_delete", args=[customer.pk]), {"post": "yes"})
    allowed = admin_client.post(reverse("admin:auth_user_delete", args=[staff.pk]), {"post": "yes"})

    assert refused.status_code == 403 and django_user_model.objects.filter(pk=customer.pk).exists()
    assert allowed.status_code == 302 and not django_user_model.objects.filter(pk=staff.pk).exists()
    changelist = admin_client.get(reverse("admin:auth_user_changelist"))
    assert "delete_selected" not in changelist.content.decode()
