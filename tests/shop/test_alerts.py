"""Staff alerts reach someone: every alert is a StaffAlert row (admin, until acknowledged),
emailed to STAFF_ALERT_EMAILS else the ADMINS, and never breaks what raised it; check
shop.W003 says when nobody is emailed; one low-stock alert per crossing, under concurrent
sales too."""
from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.checks import WARNING, run_checks
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from checkout import services as checkout_services
from inventory import services as inventory
from inventory.models import Stock, StockMovement
from shop import alerts
from shop.alerts import acknowledge_alerts, alert_staff
from shop.models import StaffAlert
from tests.support.race import Crew


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # Admin pages link their CSS through {% static %}; no collectstatic in unit tests.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


@pytest.fixture
def no_recipients(settings):
    settings.STAFF_ALERT_EMAILS = []
    settings.ADMINS = []


# --- alert_staff -----------------------------------------------------------------------


def test_an_alert_is_recorded_with_its_kind_logged_and_emailed(db, settings, caplog):
    settings.STAFF_ALERT_EMAILS = ["ops@example.com", "boss@example.com"]

    with caplog.at_level(logging.WARNING, logger="shop.alerts"):
        returned = alert_staff("Refund 7 was refused by Stripe", "Look at it.", kind="refund_failed")

    alert = StaffAlert.objects.get()
    assert returned == alert
    assert (alert.kind, alert.subject, alert.body) == ("refund_failed", "Refund 7 was refused by Stripe", "Look at it.")
    assert alert.created_at is not None and alert.acknowledged_at is None and alert.acknowledged_by is None
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [
        (["ops@example.com", "boss@example.com"], "Refund 7 was refused by Stripe", "Look at it.")
    ]
    assert "staff alert: Refund 7 was refused by Stripe (kind refund_failed)" in caplog.text


def test_the_kind_defaults_to_other_so_existing_callers_keep_working(db, no_recipients):
    alert_staff("Something odd", "Details.")

    assert StaffAlert.objects.get().kind == StaffAlert.Kind.OTHER


def test_without_staff_addresses_the_admins_are_emailed(db, settings):
    settings.STAFF_ALERT_EMAILS = []
    settings.ADMINS = [("Ops", "admins@example.com")]

    alert_staff("Stale exchange rates: EUR", "Old.", kind="stale_rates")

    [message] = mail.outbox
    assert message.to == ["admins@example.com"] and message.subject.endswith("Stale exchange rates: EUR")
    assert StaffAlert.objects.get().kind == "stale_rates"


def test_with_nobody_to_email_the_alert_is_still_recorded(db, no_recipients):
    alert_staff("Low stock: 1 variant(s)", "SKU-1: 2 on hand", kind="low_stock")

    assert mail.outbox == []
    assert StaffAlert.objects.filter(kind="low_stock", subject="Low stock: 1 variant(s)").count() == 1


def test_a_failed_send_is_logged_and_the_alert_still_recorded(db, settings, monkeypatch, caplog):
    settings.STAFF_ALERT_EMAILS = ["ops@example.com"]

    def broken_send(*args, **kwargs):
        raise ConnectionRefusedError("SMTP is down")

    monkeypatch.setattr(alerts, "send_mail", broken_send)

    with caplog.at_level(logging.ERROR, logger="shop.alerts"):
        assert alert_staff("Order 1 needs attention", "Dispute.", kind="dispute") is not None

    assert StaffAlert.objects.get().subject == "Order 1 needs attention"
    assert "could not send the staff alert 'Order 1 needs attention'" in caplog.text


def test_a_failed_insert_never_breaks_the_callers_transaction(db, settings, monkeypatch, caplog):
    """A real database error (not a Python one) inside the caller's transaction: the
    alert's own savepoint takes the failure, the caller's work commits, the email goes."""
    settings.STAFF_ALERT_EMAILS = ["ops@example.com"]

    def failing_create(**fields):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")  # PostgreSQL aborts the transaction it runs in

    monkeypatch.setattr(StaffAlert.objects, "create", failing_create)
    user_model = get_user_model()

    with caplog.at_level(logging.ERROR, logger="shop.alerts"), transaction.atomic():
        user_model.objects.create_user("before")
        assert alert_staff("Payment pi_1 did not match its cart: refunded", "Cart 3.") is None
        user_model.objects.create_user("after")  # the transaction is still usable

    assert set(user_model.objects.values_list("username", flat=True)) >= {"before", "after"}
    assert StaffAlert.objects.count() == 0
    assert [m.subject for m in mail.outbox] == ["Payment pi_1 did not match its cart: refunded"]
    assert "could not record the staff alert" in caplog.text


def test_a_subject_with_line_breaks_is_still_sent_and_recorded(db, settings):
    settings.STAFF_ALERT_EMAILS = ["ops@example.com"]

    alert_staff("Order 5\nneeds attention", "Body.")

    assert mail.outbox[0].subject == "Order 5 needs attention"
    assert StaffAlert.objects.get().subject == "Order 5 needs attention"


# --- acknowledging ---------------------------------------------------------------------


def test_acknowledging_stamps_who_and_when_once(db, no_recipients):
    user_model = get_user_model()
    ada, bob = user_model.objects.create_user("ada"), user_model.objects.create_user("bob")
    first, second, untouched = (alert_staff(f"Alert {n}", "") for n in range(3))
    earlier = timezone.now() - timedelta(hours=1)

    assert acknowledge_alerts([first.pk], ada.pk, now=earlier) == 1
    assert acknowledge_alerts([first.pk, second.pk], bob.pk) == 1  # the first was seen already

    first.refresh_from_db(), second.refresh_from_db(), untouched.refresh_from_db()
    assert (first.acknowledged_by, first.acknowledged_at) == (ada, earlier)
    assert second.acknowledged_by == bob and second.acknowledged_at > earlier
    assert untouched.acknowledged_at is None and untouched.acknowledged_by is None


def test_deleting_the_acknowledging_user_keeps_the_alert(db, no_recipients):
    clerk = get_user_model().objects.create_user("clerk")
    alert = alert_staff("Alert", "")
    acknowledge_alerts([alert.pk], clerk.pk)

    clerk.delete()

    alert.refresh_from_db()
    assert alert.acknowledged_by is None and alert.acknowledged_at is not None


# --- admin -----------------------------------------------------------------------------


def changelist() -> str:
    return reverse("admin:shop_staffalert_changelist")


def test_admin_lists_alerts_newest_first_and_filters_and_searches(admin_client, no_recipients):
    low = alert_staff("Low stock: 1 variant(s)", "LIN-M (Linen shirt): 2 on hand", kind="low_stock")
    drift = alert_staff("Stock drift: 1 variant(s)", "SOCK-1: on hand 7, ledger sum 10", kind="stock_drift")
    seen = alert_staff("Refund 3 was refused by Stripe", "card_declined", kind="refund_failed")
    acknowledge_alerts([seen.pk], None)

    def listed(query: str = "") -> list[int]:
        response = admin_client.get(changelist() + query)
        assert response.status_code == 200
        return [alert.pk for alert in response.context["cl"].result_list]

    assert listed() == [seen.pk, drift.pk, low.pk]
    assert listed("?kind__exact=low_stock") == [low.pk]
    assert listed("?acknowledged=no") == [drift.pk, low.pk]
    assert listed("?acknowledged=yes") == [seen.pk]
    assert listed("?q=SOCK-1") == [drift.pk]  # the body is searched
    assert listed("?q=refused") == [seen.pk]  # and the subject


def test_admin_acknowledge_action_records_the_staff_member(admin_client, admin_user, no_recipients):
    first, second, other = (alert_staff(f"Alert {n}", "") for n in range(3))

    response = admin_client.post(changelist(), {"action": "acknowledge_selected", "_selected_action": [first.pk, second.pk]})

    assert response.status_code == 302
    assert set(StaffAlert.objects.filter(acknowledged_by=admin_user).values_list("pk", flat=True)) == {first.pk, second.pk}
    assert StaffAlert.objects.get(pk=other.pk).acknowledged_at is None


def test_admin_alerts_cannot_be_added_edited_or_deleted(admin_client, no_recipients):
    alert = alert_staff("Alert", "Body", kind="low_stock")

    assert admin_client.get(reverse("admin:shop_staffalert_add")).status_code == 403
    page = admin_client.get(reverse("admin:shop_staffalert_change", args=[alert.pk]))
    assert page.status_code == 200 and b"Body" in page.content and b'name="_save"' not in page.content
    edit = admin_client.post(reverse("admin:shop_staffalert_change", args=[alert.pk]), {"subject": "x", "kind": "other"})
    assert edit.status_code == 403
    assert admin_client.post(reverse("admin:shop_staffalert_delete", args=[alert.pk]), {"post": "yes"}).status_code == 403
    actions = admin_client.get(changelist()).context["action_form"].fields["action"].choices
    assert [name for name, _label in actions if name] == ["acknowledge_selected"]
    alert.refresh_from_db()
    assert (alert.subject, alert.kind, alert.acknowledged_at) == ("Alert", "low_stock", None)


def test_staff_who_may_only_view_alerts_cannot_acknowledge(client, db, no_recipients):
    clerk = get_user_model().objects.create_user("clerk", password="pw-123456", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_staffalert"))
    client.force_login(clerk)
    alert = alert_staff("Alert", "")

    response = client.get(changelist())
    assert response.status_code == 200 and response.context["action_form"] is None
    client.post(changelist(), {"action": "acknowledge_selected", "_selected_action": [alert.pk]})

    alert.refresh_from_db()
    assert alert.acknowledged_at is None


# --- check shop.W003 -------------------------------------------------------------------


def w003() -> list:
    return [m for m in run_checks() if m.id == "shop.W003"]


def test_check_warns_when_nobody_receives_alerts(no_recipients):
    [warning] = w003()

    assert warning.level == WARNING
    assert "alerts are only recorded in admin and logged" in warning.msg


@pytest.mark.parametrize(
    "staff,admins",
    [(["ops@example.com"], []), ([], [("Ops", "ops@example.com")])],
    ids=["STAFF_ALERT_EMAILS", "ADMINS"],
)
def test_check_is_quiet_with_a_recipient(settings, staff, admins):
    settings.STAFF_ALERT_EMAILS, settings.ADMINS = staff, admins

    assert w003() == []


def test_blank_addresses_are_no_recipient(settings):
    settings.STAFF_ALERT_EMAILS, settings.ADMINS = ["", " "], [("Nobody", "")]

    assert len(w003()) == 1


# --- low stock: one alert per crossing --------------------------------------------------


def low_stock_alerts(sku: str) -> int:
    return StaffAlert.objects.filter(kind=StaffAlert.Kind.LOW_STOCK, body__contains=f"{sku} (").count()


def test_low_stock_is_recorded_as_a_low_stock_alert(make_variant, no_recipients, django_capture_on_commit_callbacks):
    shirt = make_variant("LOW-1", on_hand=6, threshold=3)

    with django_capture_on_commit_callbacks(execute=True):
        inventory.adjust(variant_id=shirt.pk, delta=-3, reason=StockMovement.Reason.DAMAGED)

    alert = StaffAlert.objects.get(kind="low_stock")
    assert alert.subject == "Low stock: 1 variant(s)" and "LOW-1 (" in alert.body and ": 3 on hand" in alert.body


SELLERS = 8
ROUNDS = 6


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_sales_crossing_the_threshold_raise_exactly_one_alert_and_a_restock_rearms_it(
    make_variant, make_cart, no_recipients
):
    """Eight checkouts commit their sales at once, round after round, each round on a
    fresh SKU; the stock row's lock lets exactly one of them see the crossing. A restock
    above the threshold re-arms it, and the next concurrent crossing alerts once more."""
    with Crew(SELLERS) as crew:
        for round_ in range(ROUNDS):
            sku = f"HOT-{round_}"
            # 12 on hand, threshold 6: the 8 sales of 1 unit go 12 -> 4 and cross at the 6th.
            shirt = make_variant(sku, on_hand=12, threshold=6)
            carts = [make_cart({shirt: 1}) for _ in range(SELLERS)]
            for cart in carts:
                checkout_services.start_checkout(cart_id=cart.pk)

            outcomes = crew.run([partial(inventory.commit, holder_id=c.pk, items={shirt.pk: 1}, order_id=None) for c in carts])

            assert [o.error for o in outcomes if not o.ok] == []
            assert Stock.objects.get(variant=shirt).on_hand == 4
            assert low_stock_alerts(sku) == 1, f"round {round_}"

            # Restocked above the threshold: re-armed. The next crossing alerts again, once.
            inventory.adjust(variant_id=shirt.pk, delta=8, reason=StockMovement.Reason.RECEIVED)  # 12
            assert Stock.objects.get(variant=shirt).low_stock_alerted_at is None
            carts = [make_cart({shirt: 1}) for _ in range(SELLERS)]
            for cart in carts:
                checkout_services.start_checkout(cart_id=cart.pk)

            outcomes = crew.run([partial(inventory.commit, holder_id=c.pk, items={shirt.pk: 1}, order_id=None) for c in carts])

            assert [o.error for o in outcomes if not o.ok] == []
            assert low_stock_alerts(sku) == 2, f"round {round_}"
            assert Stock.objects.get(variant=shirt).low_stock_alerted_at is not None
