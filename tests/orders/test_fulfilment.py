"""Shipping orders: some or all lines with a carrier and tracking number, partial
shipments, the shipped email, delivery by hand and from a carrier's CSV, the admin's ship
page, the order page and API; a shipment racing a cancellation: exactly one wins."""
from __future__ import annotations

from functools import partial
from io import StringIO

import tempfile

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from checkout import cancellation
from inventory.models import StockMovement
from orders import fulfilment
from orders.models import Order, Shipment
from payments.models import Refund
from shop.errors import InvalidInput, TransitionRefused
from tests.support.orders import line_ids as lines
from tests.support.race import Crew, assert_stock_exact








def test_a_partial_shipment_then_the_rest_with_emails_and_tracking(paid, django_capture_on_commit_callbacks):
    ids = lines(paid)

    with django_capture_on_commit_callbacks(execute=True):
        first = fulfilment.ship(order_id=paid.pk, quantities={ids["LAMP-1"]: 2, ids["BULB-1"]: 1}, carrier="ups", tracking_number="1Z999AA1")

    paid.refresh_from_db()
    assert paid.status == "partially_shipped"
    assert first.tracking_url == "https://www.ups.com/track?tracknum=1Z999AA1"
    assert fulfilment.unshipped_quantities(paid) == {ids["LAMP-1"]: 0, ids["BULB-1"]: 2}
    assert mail.outbox[-1].subject == f"Order {paid.number}: part of it is on its way"
    assert "Track it: https://www.ups.com/track?tracknum=1Z999AA1" in mail.outbox[-1].body
    assert "2 x Product" in mail.outbox[-1].body and "Carrier: UPS" in mail.outbox[-1].body

    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.ship(order_id=paid.pk, quantities={ids["BULB-1"]: 2}, carrier="royal_mail", tracking_number="AB 123 GB")

    paid.refresh_from_db()
    assert paid.status == "shipped"
    assert mail.outbox[-1].subject == f"Order {paid.number} is on its way"
    assert list(paid.events.values_list("to_status", flat=True)) == ["paid", "partially_shipped", "shipped"]
    # Shipping moves no stock: the units left with the sale.
    assert not StockMovement.objects.exclude(reason__in=["received", "sale"]).exists()


@pytest.mark.parametrize(
    ("quantities", "carrier", "tracking", "field"),
    [
        ({"LAMP-1": 3}, "ups", "1Z", "lines.{LAMP-1}"),  # more than ordered
        ({}, "ups", "1Z", "lines"),
        ({"LAMP-1": 1}, "pigeon", "1Z", "carrier"),
        ({"LAMP-1": 1}, "ups", "  ", "tracking_number"),
        ({"LAMP-1": 1}, "ups", "1Z\x00", "tracking_number"),
        ({"LAMP-1": -1}, "ups", "1Z", "lines.{LAMP-1}"),
    ],
)
def test_a_bad_shipment_is_refused_naming_the_field_and_changes_nothing(paid, quantities, carrier, tracking, field):
    ids = lines(paid)
    wanted = {ids[sku]: quantity for sku, quantity in quantities.items()}

    with pytest.raises(InvalidInput) as refused:
        fulfilment.ship(order_id=paid.pk, quantities=wanted, carrier=carrier, tracking_number=tracking)

    assert field.replace("{LAMP-1}", str(ids["LAMP-1"])) in refused.value.details
    assert not Shipment.objects.exists() and Order.objects.get(pk=paid.pk).status == "paid"


def test_an_order_that_is_not_paid_for_or_cancelled_cannot_be_shipped(paid):
    ids = lines(paid)
    Order.objects.filter(pk=paid.pk).update(status="authorized")
    with pytest.raises(TransitionRefused, match="its payment is not captured yet"):
        fulfilment.ship(order_id=paid.pk, quantities={ids["LAMP-1"]: 1}, carrier="ups", tracking_number="1Z")
    Order.objects.filter(pk=paid.pk).update(status="cancelled")
    with pytest.raises(TransitionRefused, match="it is cancelled"):
        fulfilment.ship(order_id=paid.pk, quantities={ids["LAMP-1"]: 1}, carrier="ups", tracking_number="1Z")
    assert not Shipment.objects.exists()


def test_delivery_by_hand_and_from_a_carriers_csv(paid, api):
    ids = lines(paid)
    with pytest.raises(TransitionRefused, match="only an order shipped in full"):
        fulfilment.mark_delivered(order_id=paid.pk)
    fulfilment.ship(order_id=paid.pk, quantities={ids["LAMP-1"]: 2}, carrier="dhl", tracking_number="JD01")
    fulfilment.ship(order_id=paid.pk, quantities={ids["BULB-1"]: 3}, carrier="dhl", tracking_number="JD02")
    out = StringIO()
    csv_text = "tracking_number,delivered_at\nJD01,2026-12-01T10:00:00+00:00\nNOPE,\n"
    result = fulfilment.import_deliveries(csv_text)
    assert (result.delivered, result.waiting, result.unknown) == ([], ["JD01"], ["NOPE"])
    assert Order.objects.get(pk=paid.pk).status == "shipped"  # one parcel is still out

    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as handle:
        handle.write("tracking_number\nJD02\n")
    call_command("mark_delivered", handle.name, stdout=out)

    assert Order.objects.get(pk=paid.pk).status == "delivered"
    assert f"Delivered: {paid.number}" in out.getvalue()
    body = api.get(f"/api/v1/orders/{paid.number}/?token={paid.access_token}").json()
    assert [f["tracking_number"] for f in body["fulfilments"]] == ["JD01", "JD02"]
    assert body["fulfilments"][0]["lines"] == [{"sku": "LAMP-1", "quantity": 2}]
    assert body["fulfilments"][0]["delivered_at"] == "2026-12-01T10:00:00+00:00"
    assert [e["status"] for e in body["events"]] == ["paid", "partially_shipped", "shipped", "delivered"]


def test_the_order_page_shows_the_parcels_with_their_tracking_links(paid):
    ids = lines(paid)
    fulfilment.ship(order_id=paid.pk, quantities={ids["LAMP-1"]: 1}, carrier="ups", tracking_number="1Z999AA1")

    page = Client().get(f"/orders/{paid.number}/?token={paid.access_token}")

    assert b'<a href="https://www.ups.com/track?tracknum=1Z999AA1" rel="noopener">1Z999AA1</a>' in page.content
    assert b"Part of your order is on its way" in page.content
    assert b"Cancel this order" not in page.content


def test_staff_ship_from_the_admin_and_view_only_staff_cannot(paid, django_capture_on_commit_callbacks):
    ids = lines(paid)
    User = get_user_model()
    viewer = User.objects.create_user("viewer", "viewer@example.com", "pw-viewer-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    packer = User.objects.create_user("packer", "packer@example.com", "pw-packer-1", is_staff=True)
    packer.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "change_order"]))
    url = reverse("admin:orders_order_ship", args=[paid.pk])
    form = {"carrier": "ups", "tracking_number": "1Z42", f"line_{ids['LAMP-1']}": "2", f"line_{ids['BULB-1']}": "0"}

    as_viewer = Client()
    as_viewer.force_login(viewer)
    assert as_viewer.get(url).status_code == 403 and as_viewer.post(url, form).status_code == 403
    assert url.encode() not in as_viewer.get(reverse("admin:orders_order_change", args=[paid.pk])).content

    as_packer = Client()
    as_packer.force_login(packer)
    assert url.encode() in as_packer.get(reverse("admin:orders_order_change", args=[paid.pk])).content
    refused = as_packer.post(url, {**form, f"line_{ids['LAMP-1']}": "3"})
    assert refused.status_code == 200 and not Shipment.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        shipped = as_packer.post(url, form)

    assert shipped.status_code == 302
    shipment = Shipment.objects.get()
    assert (shipment.tracking_number, shipment.created_by_id, [(line.order_line.sku, line.quantity) for line in shipment.lines.all()]) == (
        "1Z42", packer.pk, [("LAMP-1", 2)]
    )
    assert Order.objects.get(pk=paid.pk).status == "partially_shipped"
    assert mail.outbox[-1].to == ["ada@example.com"]


@pytest.mark.django_db(transaction=True)
def test_a_shipment_racing_a_cancellation_exactly_one_wins(paid, lamp, bulb):
    ids = lines(paid)

    with Crew(2) as crew:
        outcomes = crew.run([
            partial(cancellation.cancel_order, order_id=paid.pk, by_customer=False),
            partial(fulfilment.ship, order_id=paid.pk, quantities={ids["LAMP-1"]: 2, ids["BULB-1"]: 3}, carrier="ups", tracking_number="1Z"),
        ])

    won = [o.error is None for o in outcomes]
    assert won in ([True, False], [False, True])
    paid.refresh_from_db()
    if won[0]:
        assert paid.status == "cancelled" and not Shipment.objects.exists() and Refund.objects.count() == 1
        assert_stock_exact(lamp.pk, on_hand=5, reserved=0)
        assert_stock_exact(bulb.pk, on_hand=20, reserved=0)
    else:
        assert paid.status == "shipped" and Shipment.objects.count() == 1 and not Refund.objects.exists()
        assert_stock_exact(lamp.pk, on_hand=3, reserved=0)
        assert_stock_exact(bulb.pk, on_hand=17, reserved=0)


def test_staff_find_an_order_by_number_email_sku_or_tracking_number(admin_client, paid):
    ids = lines(paid)
    fulfilment.ship(order_id=paid.pk, quantities={ids["LAMP-1"]: 1}, carrier="dhl", tracking_number="JD0099")
    url = reverse("admin:orders_order_changelist")

    for term in (paid.number, "ada@example.com", "BULB-1", "JD0099"):
        found = admin_client.get(url, {"q": term}).context["cl"].result_list
        assert [order.pk for order in found] == [paid.pk], term
    assert list(admin_client.get(url, {"q": "NOTHING-LIKE-IT"}).context["cl"].result_list) == []
    assert list(admin_client.get(url, {"status__exact": "partially_shipped"}).context["cl"].result_list) == [paid]


def test_my_orders_lists_status_and_tracking_links(paid):
    ids = lines(paid)
    owner = get_user_model().objects.create_user("owner", "owner@example.com", "pw-owner-1")
    Order.objects.filter(pk=paid.pk).update(user=owner)
    fulfilment.ship(order_id=paid.pk, quantities={ids["LAMP-1"]: 2}, carrier="ups", tracking_number="1Z77")
    client = Client()
    client.force_login(owner)

    page = client.get(reverse("orders:list"))

    assert b'<a href="https://www.ups.com/track?tracknum=1Z77" rel="noopener">1Z77</a>' in page.content
    assert b"Partially Shipped" in page.content
