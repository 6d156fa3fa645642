"""The order page's tax and discount: the code (linked to it), the discount, each tax
line in the order's currency, whether prices included tax, the shipping method by name,
and each line's discount, tax and rate; orders found by their code."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from moneyed import Money
from pytest_django.asserts import assertContains

from discounts.models import DiscountCode
from orders.models import Order, OrderLine


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


@pytest.fixture
def taxed_order(make_cart, db):
    """An EUR order, prices including tax, with SPRING10 and VAT at two rates."""
    code = DiscountCode.objects.create(code="SPRING10", kind=DiscountCode.Kind.PERCENT, value=Decimal("10"))
    order = Order.objects.create(
        number="2025-000777", cart=make_cart(), currency="EUR", exchange_rate=Decimal("0.9215"),
        email="ada@example.com",
        shipping_address={"name": "Ada", "line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
        shipping_method="standard", shipping_method_name="Standard post",
        subtotal=eur("29.98"), discount=eur("3.00"), shipping=eur("4.60"), tax=eur("3.89"), total=eur("31.58"),
        refunded=eur("0"), discount_code="SPRING10", prices_include_tax=True,
        tax_lines=[{"name": "VAT", "rate": "19.00", "amount": "3.19"}, {"name": "VAT", "rate": "7.00", "amount": "0.70"}],
    )
    OrderLine.objects.create(
        order=order, sku="LIN-M", product_name="Linen shirt", variant_name="M", quantity=1,
        unit_price_usd=Money(Decimal("21.69"), "USD"), unit_price=eur("19.99"), line_total=eur("19.99"),
        discount=eur("2.00"), tax=eur("2.87"), tax_rate=Decimal("19.00"),
    )
    OrderLine.objects.create(
        order=order, sku="BOOK-1", product_name="Book", quantity=1,
        unit_price_usd=Money(Decimal("10.84"), "USD"), unit_price=eur("9.99"), line_total=eur("9.99"),
        discount=eur("1.00"), tax=eur("0.59"), tax_rate=Decimal("7.00"),
    )
    return {"order": order, "code": code}


def shown(admin_form) -> dict[str, str]:
    """The read-only fields of an admin form (the order's, or one inline row): name -> text."""
    return {
        field.field["name"]: str(field.contents()) for fieldset in admin_form for line in fieldset for field in line
    }


def test_the_order_page_shows_the_code_discount_tax_lines_and_shipping_method(admin_client, taxed_order):
    order, code = taxed_order["order"], taxed_order["code"]

    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert page.status_code == 200
    code_url = reverse("admin:discounts_discountcode_change", args=[code.pk])
    assertContains(page, f'<div class="readonly"><a href="{code_url}">SPRING10</a></div>', html=True)
    assertContains(page, "VAT 19%: €3.19<br>VAT 7%: €0.70")
    assertContains(page, "Standard post (standard)")
    fields = shown(page.context["adminform"])
    assert "True" in fields["prices_include_tax"] or "icon-yes" in fields["prices_include_tax"]
    assert fields["discount"] == "€3.00"


def test_the_order_lines_show_their_discount_tax_and_rate(admin_client, taxed_order):
    page = admin_client.get(reverse("admin:orders_order_change", args=[taxed_order["order"].pk]))

    lines = next(inline for inline in page.context["inline_admin_formsets"] if inline.opts.model is OrderLine)
    rows = [shown(row) for row in lines]

    assert [(row["sku"], row["discount"], row["tax"], row["tax_rate_text"]) for row in rows] == [
        ("LIN-M", "€2.00", "€2.87", "19%"),
        ("BOOK-1", "€1.00", "€0.59", "7%"),
    ]


def test_an_order_without_tax_or_code_says_so(admin_client, shop_world):
    page = admin_client.get(reverse("admin:orders_order_change", args=[shop_world["order"].pk]))

    assertContains(page, "No tax.")


def test_orders_are_found_and_filtered_by_their_discount_code(admin_client, taxed_order, shop_world):
    url = reverse("admin:orders_order_changelist")

    found = admin_client.get(url, {"q": "spring10"})
    with_code = admin_client.get(url, {"with_code": "yes"})
    without = admin_client.get(url, {"with_code": "no"})

    assert [o.number for o in found.context["cl"].result_list] == ["2025-000777"]
    assert [o.number for o in with_code.context["cl"].result_list] == ["2025-000777"]
    assert [o.number for o in without.context["cl"].result_list] == [shop_world["order"].number]


def test_view_only_staff_see_the_tax_and_discount(taxed_order):
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw-viewer-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = Client()
    client.force_login(user)

    page = client.get(reverse("admin:orders_order_change", args=[taxed_order["order"].pk]))

    assert page.status_code == 200
    assertContains(page, "VAT 19%: €3.19")
