"""Returns and refunds from the admin: units back at the prices paid (shipping if asked),
restocked through the ledger (reason `return`) if asked, bounded per line and by what is
left to refund; partial refunds adding up to the total make the payment `refunded` and
one more is refused; Stripe shows the same amounts; two returns at once never refund a
unit twice."""
from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest
import stripe
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client
from django.urls import reverse
from moneyed import Money

from checkout import returns
from inventory import services as inventory_services
from inventory.models import StockMovement
from inventory.selectors import ledger_balance
from orders.models import Order, ReturnedLine
from payments.models import Refund
from payments.refunds import RefundRefused
from shop.errors import InvalidInput
from tests.support.orders import line_ids
from tests.support.race import Crew, assert_stock_exact








def refunded_at_stripe(order: Order) -> int:
    intent = stripe.PaymentIntent.retrieve(order.payments.get().stripe_payment_intent_id)
    return sum(int(r.amount) for r in stripe.Refund.list(charge=intent.latest_charge.id).data)


@pytest.fixture
def refunder(db):
    user = get_user_model().objects.create_user("refunder", "refunder@example.com", "pw-refunder-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "add_refund"]))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def test_staff_refund_a_returned_lamp_with_restock_from_the_admin(paid, lamp, refunder, django_capture_on_commit_callbacks):
    ids = line_ids(paid)
    url = reverse("admin:orders_order_return", args=[paid.pk])
    assert refunder.get(url).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = refunder.post(url, {f"line_{ids['LAMP-1']}": "1", f"line_{ids['BULB-1']}": "0", "restock": "on", "reason": "requested_by_customer"})

    assert response.status_code == 302, response.content
    assert_stock_exact(lamp.pk, on_hand=4, reserved=0)
    assert ledger_balance(lamp.pk) == 4
    back = StockMovement.objects.get(reason=StockMovement.Reason.RETURN)
    assert (back.delta, back.order_id, back.actor_id) == (1, paid.pk, refunder.user.pk)
    paid.refresh_from_db()
    assert (paid.payment_status, paid.refunded) == ("partially_refunded", Money(Decimal("40.00"), "USD"))
    assert refunded_at_stripe(paid) == 4000
    assert [m.subject for m in mail.outbox] == [f"Order {paid.number}: we have refunded $40.00"]
    assert list(ReturnedLine.objects.values_list("order_line__sku", "quantity", "restocked")) == [("LAMP-1", 1, True)]
    assert not inventory_services.check_stock().found  # on hand, reserved and the ledger agree


def test_returns_adding_up_to_the_total_refund_it_all_and_one_more_is_refused(paid, lamp, bulb, django_capture_on_commit_callbacks):
    ids = line_ids(paid)
    with django_capture_on_commit_callbacks(execute=True):
        returns.refund_return(order_id=paid.pk, quantities={ids["LAMP-1"]: 2})  # 80.00, not restocked
        returns.refund_return(order_id=paid.pk, quantities={ids["BULB-1"]: 3}, include_shipping=True)  # 15.00 + 0 shipping

    paid.refresh_from_db()
    assert (paid.payment_status, paid.refunded) == ("refunded", Money(Decimal("95.00"), "USD"))
    assert refunded_at_stripe(paid) == 9500 and sum(Refund.objects.values_list("amount", flat=True)) == 9500
    assert_stock_exact(lamp.pk, on_hand=3, reserved=0)  # not restocked: damaged goods stay off the shelf

    with pytest.raises(InvalidInput, match="units not returned yet"):
        returns.refund_return(order_id=paid.pk, quantities={ids["LAMP-1"]: 1})
    with pytest.raises(RefundRefused, match="refunded in full already"):
        returns.refund_return(order_id=paid.pk, quantities={}, include_shipping=True)
    assert Refund.objects.count() == 2 and ReturnedLine.objects.count() == 2


@pytest.mark.parametrize(
    ("quantities", "field"),
    [({"LAMP-1": 3}, "lines.{LAMP-1}"), ({}, "lines"), ({"LAMP-1": -1}, "lines.{LAMP-1}"), ({999999: 1}, "lines.999999")],
)
def test_a_bad_return_is_refused_naming_the_line_and_changes_nothing(paid, lamp, quantities, field):
    ids = line_ids(paid)
    asked = {ids.get(key, key): quantity for key, quantity in quantities.items()}
    before = (StockMovement.objects.count(), Refund.objects.count())

    with pytest.raises(InvalidInput) as refused:
        returns.refund_return(order_id=paid.pk, quantities=asked, restock=True)

    assert field.replace("{LAMP-1}", str(ids["LAMP-1"])) in refused.value.details
    assert (StockMovement.objects.count(), Refund.objects.count()) == before and not ReturnedLine.objects.exists()
    assert_stock_exact(lamp.pk, on_hand=3, reserved=0)


def test_view_only_staff_cannot_open_the_return_page(paid):
    viewer = get_user_model().objects.create_user("viewer", "viewer@example.com", "pw-viewer-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client = Client()
    client.force_login(viewer)
    url = reverse("admin:orders_order_return", args=[paid.pk])

    assert client.get(url).status_code == 403
    assert client.post(url, {f"line_{line_ids(paid)['LAMP-1']}": "1", "reason": "other"}).status_code == 403
    assert url.encode() not in client.get(reverse("admin:orders_order_change", args=[paid.pk])).content
    assert not Refund.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_returns_of_the_same_units_at_once_refund_them_once(paid, lamp):
    ids = line_ids(paid)

    with Crew(2) as crew:
        outcomes = crew.run([partial(returns.refund_return, order_id=paid.pk, quantities={ids["LAMP-1"]: 2}, restock=True)] * 2)

    assert sorted(type(o.error).__name__ for o in outcomes) == ["InvalidInput", "NoneType"]
    assert Refund.objects.count() == 1 and Refund.objects.get().amount == 8000
    assert_stock_exact(lamp.pk, on_hand=5, reserved=0)
    assert StockMovement.objects.filter(reason=StockMovement.Reason.RETURN).count() == 1


def test_the_order_json_lists_each_refund_with_its_reason_and_they_add_up(paid, api, django_capture_on_commit_callbacks):
    ids = line_ids(paid)
    with django_capture_on_commit_callbacks(execute=True):
        returns.refund_return(order_id=paid.pk, quantities={ids["LAMP-1"]: 1}, reason=Refund.Reason.REQUESTED_BY_CUSTOMER)
        returns.refund_return(order_id=paid.pk, quantities={ids["BULB-1"]: 2}, reason=Refund.Reason.OTHER)

    body = api.get(f"/api/v1/orders/{paid.number}/?token={paid.access_token}").json()

    assert [(r["amount"], r["reason"]) for r in body["refunds"]] == [
        ({"amount": "40.00", "currency": "USD"}, "Requested by the customer"),
        ({"amount": "10.00", "currency": "USD"}, "Other"),
    ]
    assert body["refunded"] == {"amount": "50.00", "currency": "USD"}
