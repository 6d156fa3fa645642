"""Every order action of the admin, as a view-only staff member and as a signed-in
shopper who is not staff: the action is not offered, its page answers 403 (or the login
page for non-staff), and nothing changes."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from orders.models import Order, OrderEvent, Shipment
from payments.models import Refund

LIST_ACTIONS = ["cancel_orders", "mark_processing", "mark_delivered", "capture_authorized_payments"]
PAGES = ["admin:orders_order_ship", "admin:orders_order_return", "admin:orders_order_refund", "admin:orders_order_cancel"]


@pytest.fixture
def view_only(db):
    user = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw-viewer-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def shopper(db):
    client = Client()
    client.force_login(get_user_model().objects.create_user("shopper", "shopper@example.com", "pw-shopper-1"))
    return client


def _unchanged(order: Order) -> None:
    assert Order.objects.get(pk=order.pk).status == order.status
    assert not OrderEvent.objects.filter(order=order).exists()
    assert not Shipment.objects.exists() and not Refund.objects.exists()


@pytest.mark.parametrize("action", LIST_ACTIONS)
def test_view_only_staff_are_not_offered_a_list_action_and_posting_it_changes_nothing(view_only, shop_world, action):
    order = shop_world["order"]
    changelist = reverse("admin:orders_order_changelist")

    assert action.encode() not in view_only.get(changelist).content
    view_only.post(changelist, {"action": action, "_selected_action": [order.pk]})

    _unchanged(order)


@pytest.mark.parametrize("page", PAGES)
def test_view_only_staff_get_403_on_every_order_action_page(view_only, shop_world, page):
    order = shop_world["order"]
    url = reverse(page, args=[order.pk])

    assert view_only.get(url).status_code == 403
    assert view_only.post(url, {"carrier": "ups", "tracking_number": "1Z", "note": "x", "reason": "other"}).status_code == 403
    _unchanged(order)


@pytest.mark.parametrize("page", [*PAGES, "admin:orders_order_changelist"])
def test_a_shopper_who_is_not_staff_is_sent_to_the_admin_login(shopper, shop_world, page):
    order = shop_world["order"]
    url = reverse(page) if page.endswith("changelist") else reverse(page, args=[order.pk])

    response = shopper.post(url, {"action": "cancel_orders", "_selected_action": [order.pk]})

    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    _unchanged(order)
