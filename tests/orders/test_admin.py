"""Orders on inventory's admin pages: inventory knows an order only by its id, and the
order admin puts the order number (linked) on the ledger and the reservations."""
from __future__ import annotations

from django.urls import reverse
from pytest_django.asserts import assertContains

from checkout import services as checkout_services
from inventory import services as inventory
from inventory.models import Reservation, StockMovement


def _sell(world) -> StockMovement:
    """The world's order sold one unit (as complete_checkout records it)."""
    variant, order = world["variant"], world["order"]
    holder = order.cart_id
    checkout_services.start_checkout(cart_id=holder)
    movements = inventory.commit(holder_id=holder, items={variant.pk: 1}, order_id=None)
    inventory.attach_order(holder_id=holder, order_id=order.pk, movement_ids=[m.pk for m in movements])
    return StockMovement.objects.get(pk=movements[0].pk)


def test_the_ledger_links_a_sale_to_its_order_by_number(admin_client, shop_world):
    sale = _sell(shop_world)
    order = shop_world["order"]
    link = f'<a href="{reverse("admin:orders_order_change", args=[order.pk])}">{order.number}</a>'

    listing = admin_client.get(reverse("admin:inventory_stockmovement_changelist"))
    detail = admin_client.get(reverse("admin:inventory_stockmovement_change", args=[sale.pk]))

    assertContains(listing, link, html=True)
    assertContains(detail, link, html=True)


def test_the_ledger_finds_the_sales_of_an_order_by_its_number_or_id(admin_client, shop_world):
    sale = _sell(shop_world)
    url = reverse("admin:inventory_stockmovement_changelist")

    for term in (shop_world["order"].number, str(shop_world["order"].pk)):
        listing = admin_client.get(url, {"q": term})
        assert [m.pk for m in listing.context["cl"].result_list] == [sale.pk], term
    assert admin_client.get(url, {"q": "LIN-M"}).status_code == 200  # a SKU is not an order id


def test_reservations_link_their_cart_and_order(admin_client, shop_world):
    _sell(shop_world)
    order, cart = shop_world["order"], shop_world["cart"]
    listing = admin_client.get(reverse("admin:inventory_reservation_changelist"))

    cart_url = reverse("admin:cart_cart_change", args=[cart.pk])
    assertContains(listing, f'<a href="{cart_url}">{cart.pk}</a>', html=True)
    committed = Reservation.objects.get(holder_id=order.cart_id, status=Reservation.Status.COMMITTED)
    assert committed.order_id == order.pk
    assertContains(listing, f'<a href="{reverse("admin:orders_order_change", args=[order.pk])}">{order.number}</a>', html=True)
