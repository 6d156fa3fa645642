"""Finding an order in the admin by what the customer tells staff: its number, their
email, their name, their city, a SKU they bought; and its addresses written as their
country writes them (addresses.formatting), one line each, not as raw JSON."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from moneyed import Money
from pytest_django.asserts import assertContains, assertNotContains

from addresses.formatting import address_lines
from orders.models import Order, OrderLine

CHANGELIST = "admin:orders_order_changelist"


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def make_order(make_cart, number: str, *, email: str, shipping: dict, skus: list[str], billing: dict | None = None) -> Order:
    order = Order.objects.create(
        number=number, cart=make_cart(), currency="USD", exchange_rate=Decimal("1"), email=email, shipping_address=shipping,
        billing_address=billing, subtotal=usd("10.00"), shipping=usd("0"), tax=usd("0"), discount=usd("0"), total=usd("10.00"),
        refunded=usd("0"),
    )
    for sku in skus:
        OrderLine.objects.create(
            order=order, sku=sku, product_name=f"Product {sku}", quantity=1, unit_price_usd=usd("5.00"), unit_price=usd("5.00"),
            line_total=usd("5.00"),
        )
    return order


@pytest.fixture
def orders(db, make_cart):
    springfield = {"name": "Ada Lovelace", "line1": "742 Evergreen Terrace", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "US"}
    berlin = {"name": "Bob Babbage", "line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117", "country": "DE"}
    return {
        "ada": make_order(
            make_cart, "ORD-2026-00001", email="ada@example.com", shipping=springfield, skus=["LAMP-1", "BULB-1"],
            billing={**springfield, "name": "Augusta King", "city": "Chicago", "postal_code": "60601"},
        ),
        "bob": make_order(make_cart, "ORD-2026-00002", email="bob@example.com", shipping=berlin, skus=["BULB-1"]),
    }


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("ORD-2026-00002", ["bob"]),  # number
        ("ada@example", ["ada"]),  # email
        ("lovelace", ["ada"]),  # the name on the shipping address
        ("augusta", ["ada"]),  # the name on the billing address
        ("springfield", ["ada"]),  # city
        ("berlin", ["bob"]),
        ("LAMP-1", ["ada"]),  # SKU of a line
        ("bulb-1", ["ada", "bob"]),  # in both, each order once
        ("nowhere", []),
    ],
)
def test_staff_find_an_order_by_number_email_name_city_or_sku(admin_client, orders, term, found):
    response = admin_client.get(reverse(CHANGELIST), {"q": term})

    listed = [order.number for order in response.context["cl"].result_list]
    assert sorted(listed) == sorted(orders[name].number for name in found)


def test_the_order_page_writes_the_addresses_as_their_country_does(admin_client, orders):
    order = orders["ada"]
    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    shipping = address_lines(order.shipping_address)
    assert len(shipping) == 4  # name, street, city line, country
    assertContains(response, "<br>".join(shipping))
    assertContains(response, "<br>".join(address_lines(order.billing_address)))
    assertNotContains(response, "&quot;line1&quot;")  # no raw JSON
    assertNotContains(response, '"line1"')


def test_an_order_without_a_billing_address_says_it_is_the_shipping_one(admin_client, orders):
    response = admin_client.get(reverse("admin:orders_order_change", args=[orders["bob"].pk]))

    assertContains(response, "Same as shipping.")
    assertContains(response, "Bob Babbage<br>Unter den Linden 1<br>10117 Berlin")
