"""The stock drift check (inventory.services.check_stock, `manage.py check_stock`, the
nightly beat job): on_hand against the ledger, reserved against the active reservations,
nothing negative. A clean shop passes; planted drift is found and alerted; --repair
recomputes reserved exactly, under the stock locks, and never touches on_hand."""
from __future__ import annotations

from datetime import timedelta
from functools import partial
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkout import services as checkout_services
from inventory import services as inventory
from inventory import tasks as inventory_tasks
from inventory.models import Reservation, Stock, StockMovement
from inventory.selectors import StockFigures
from shop.models import StaffAlert
from tests.support.race import Background, assert_stock_exact, pause_after, wait_until_blocked


@pytest.fixture(autouse=True)
def nobody_emailed(settings):
    settings.STAFF_ALERT_EMAILS = []
    settings.ADMINS = []


def plant(variant, **figures) -> None:
    """Drift planted behind the services' back, as a bug or a hand edit would."""
    Stock.objects.filter(variant=variant).update(**figures)


def figures(variant) -> tuple[int, int]:
    stock = Stock.objects.get(variant=variant)
    return stock.on_hand, stock.reserved


def drift_alerts() -> list[StaffAlert]:
    return list(StaffAlert.objects.filter(kind=StaffAlert.Kind.STOCK_DRIFT))


def run_command(*args: str) -> tuple[int, str]:
    """(exit status, standard output) of `manage.py check_stock ARGS`: Django exits with
    a CommandError's returncode."""
    out = StringIO()
    try:
        call_command("check_stock", *args, stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def shop_after_a_day(make_variant, make_cart):
    """Every writer of stock has run: checkouts (live, expired and unreleased, swept),
    sales of reserved and unreserved stock, a partial sale, cancels, adjustments, a
    return, an import-style stock level, and a variant that never had stock."""
    shirt, socks, hat = make_variant(on_hand=10), make_variant(on_hand=8), make_variant(on_hand=6)
    never_stocked = make_variant(on_hand=0)
    now = timezone.now()

    sold = make_cart({shirt: 2, socks: 1})
    checkout_services.start_checkout(cart_id=sold.pk)
    inventory.commit(holder_id=sold.pk, items={shirt.pk: 2, socks.pk: 1}, order_id=None)

    partly_sold = make_cart({hat: 3})
    checkout_services.start_checkout(cart_id=partly_sold.pk)
    inventory.commit(holder_id=partly_sold.pk, items={hat.pk: 1}, order_id=None)  # frees the other 2

    inventory.commit(holder_id=make_cart({socks: 2}).pk, items={socks.pk: 2}, order_id=None)  # nothing reserved

    cancelled = make_cart({shirt: 1, hat: 1})
    checkout_services.start_checkout(cart_id=cancelled.pk)
    checkout_services.cancel_checkout(cart_id=cancelled.pk)

    # Lapsed and not yet released: still counted in reserved until someone releases it.
    lapsed = make_cart({shirt: 3})
    checkout_services.start_checkout(cart_id=lapsed.pk, now=now - timedelta(minutes=30))
    swept = make_cart({hat: 1})
    checkout_services.start_checkout(cart_id=swept.pk, now=now - timedelta(minutes=30))
    inventory.expire_reservations(now=now)  # releases both

    live = make_cart({shirt: 2, hat: 1})
    checkout_services.start_checkout(cart_id=live.pk)

    inventory.adjust(variant_id=shirt.pk, delta=5, reason=StockMovement.Reason.RECEIVED)
    inventory.adjust(variant_id=socks.pk, delta=-1, reason=StockMovement.Reason.DAMAGED)
    inventory.adjust(variant_id=hat.pk, delta=1, reason=StockMovement.Reason.RETURN)
    inventory.set_stock_levels([inventory.StockLevel(variant_id=socks.pk, on_hand=9)], reason=StockMovement.Reason.IMPORT)

    # Lapsed after the last write of its row, so nothing has released it yet.
    lapsed_again = make_cart({socks: 1})
    checkout_services.start_checkout(cart_id=lapsed_again.pk, now=now - timedelta(minutes=20))
    return {"shirt": shirt, "socks": socks, "hat": hat, "never_stocked": never_stocked}


# --- the check -------------------------------------------------------------------------


def test_a_clean_shop_has_no_drift_and_raises_no_alert(shop_after_a_day, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = inventory.check_stock()

    assert (report.checked, report.found, report.drifts, report.unresolved) == (4, False, (), ())
    assert report.lines() == ["Checked 4 stock row(s): no drift."]
    assert drift_alerts() == []
    # The same rows, checked the slow way, one variant at a time.
    for key, on_hand, reserved in [("shirt", 13, 2), ("socks", 9, 1), ("hat", 6, 1), ("never_stocked", 0, 0)]:
        assert_stock_exact(shop_after_a_day[key].pk, on_hand=on_hand, reserved=reserved)


@pytest.mark.parametrize("change", [+3, -4], ids=["more", "fewer"])
def test_an_on_hand_mismatch_is_found_alerted_and_never_repaired(shop_after_a_day, django_capture_on_commit_callbacks, change):
    shirt = shop_after_a_day["shirt"]
    plant(shirt, on_hand=F("on_hand") + change)

    with django_capture_on_commit_callbacks(execute=True):
        report = inventory.check_stock(repair=True)

    drift = StockFigures(shirt.pk, shirt.sku, on_hand=13 + change, ledger_on_hand=13, reserved=2, active_reserved=2)
    assert report.drifts == (drift,) and report.repaired == () and report.unresolved == (drift,)
    assert figures(shirt) == (13 + change, 2)  # on_hand stays: a person decides which side is right
    [alert] = drift_alerts()
    assert alert.subject == "Stock drift: 1 variant(s)"
    assert f"{shirt.sku} (variant {shirt.pk}): on hand {13 + change}, ledger sum 13; reserved 2, active reservations 2." in alert.body
    assert "on hand NOT repaired, needs a person" in alert.body


def test_a_reserved_mismatch_is_found_and_repaired_to_the_exact_figure(shop_after_a_day, django_capture_on_commit_callbacks):
    shirt, socks, hat = shop_after_a_day["shirt"], shop_after_a_day["socks"], shop_after_a_day["hat"]
    plant(shirt, reserved=9)  # active reservations: 2
    plant(socks, reserved=0)  # active: 1, lapsed but not released, which reserved counts

    with django_capture_on_commit_callbacks(execute=True):
        found = inventory.check_stock()
    assert [(f.sku, f.reserved, f.active_reserved) for f in found.drifts] == [(shirt.sku, 9, 2), (socks.sku, 0, 1)]
    assert found.repaired == () and len(found.unresolved) == 2
    assert (figures(shirt), figures(socks)) == ((13, 9), (9, 0))  # a check alone changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        repaired = inventory.check_stock(repair=True)

    assert [(r.sku, r.reserved_before, r.reserved_after) for r in repaired.repaired] == [(shirt.sku, 9, 2), (socks.sku, 0, 1)]
    assert repaired.unresolved == ()
    assert_stock_exact(shirt.pk, on_hand=13, reserved=2)
    assert_stock_exact(socks.pk, on_hand=9, reserved=1)
    assert_stock_exact(hat.pk, on_hand=6, reserved=1)
    assert inventory.check_stock().found is False
    alerts = drift_alerts()
    assert [a.subject for a in alerts] == ["Stock drift: 2 variant(s), repaired", "Stock drift: 2 variant(s)"]
    assert "reserved repaired: 9 -> 2." in alerts[0].body
    assert "reserved not repaired: run `python manage.py check_stock --repair`." in alerts[1].body


def test_reserved_that_cannot_fit_on_hand_is_left_for_a_person(make_variant, make_cart):
    """Active reservations above on hand (on_hand lowered behind the services' back):
    recomputing reserved would break the row's constraint, so nothing is written."""
    shirt = make_variant(on_hand=5)
    checkout_services.start_checkout(cart_id=make_cart({shirt: 4}).pk)
    plant(shirt, on_hand=3, reserved=3)

    report = inventory.check_stock(repair=True)

    assert report.repaired == () and [f.sku for f in report.unresolved] == [shirt.sku]
    assert figures(shirt) == (3, 3)
    assert any("reserved cannot be repaired: its active reservations (4) do not fit in on hand (3)" in line for line in report.lines())


def test_drift_in_many_variants_is_one_alert(make_variant, django_capture_on_commit_callbacks):
    variants = [make_variant(on_hand=5) for _ in range(3)]
    for variant in variants:
        plant(variant, reserved=1)

    with django_capture_on_commit_callbacks(execute=True):
        inventory.check_stock()

    [alert] = drift_alerts()
    assert alert.subject == "Stock drift: 3 variant(s)"
    assert all(f"{v.sku} (variant {v.pk})" in alert.body for v in variants)


def count_queries(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def test_the_check_and_the_repair_take_the_same_queries_for_any_number_of_variants(make_variant):
    """Set-based: a few statements for the whole shop, never a query per variant."""
    few = [make_variant(on_hand=5) for _ in range(2)]
    for variant in few:
        plant(variant, reserved=2)
    check_few, repair_few = count_queries(inventory.check_stock), count_queries(partial(inventory.check_stock, repair=True))

    many = [make_variant(on_hand=5) for _ in range(25)]
    for variant in few + many:
        plant(variant, reserved=3)
    check_many, repair_many = count_queries(inventory.check_stock), count_queries(partial(inventory.check_stock, repair=True))

    assert check_few == check_many == 1
    assert repair_few == repair_many <= 6  # the check, the locks, the check again, the update, a savepoint pair
    assert inventory.check_stock().found is False


@pytest.mark.django_db(transaction=True)
def test_the_repair_waits_for_a_sale_holding_the_lock_and_writes_what_is_true_after_it(make_variant, make_cart):
    """Deterministic: the repair's unlocked check sees the row before a sale commits; it
    must queue for the stock lock and recompute after the sale, not write what it saw."""
    shirt = make_variant(on_hand=10)
    buyer, other = make_cart({shirt: 3}), make_cart({shirt: 2})
    checkout_services.start_checkout(cart_id=buyer.pk)
    checkout_services.start_checkout(cart_id=other.pk)
    plant(shirt, reserved=F("reserved") + 2)  # 7, active 5

    with pause_after("inventory.services.lock_stocks", thread_name="sale") as pause:
        sale = Background(partial(inventory.commit, holder_id=buyer.pk, items={shirt.pk: 3}, order_id=None), name="sale")
        pause.wait_reached()
        repair = Background(partial(inventory.check_stock, repair=True), name="repair")
        wait_until_blocked(repair.backend_pid)
        pause.resume()
        sale.result()
        report = repair.result()

    # Seen before the sale: reserved 7, active 5. Written after it: active 2.
    assert [(f.reserved, f.active_reserved) for f in report.drifts] == [(7, 5)]
    assert [(r.reserved_before, r.reserved_after) for r in report.repaired] == [(4, 2)]
    assert_stock_exact(shirt.pk, on_hand=7, reserved=2)


# --- the command -----------------------------------------------------------------------


def test_command_on_a_clean_shop_prints_the_count_and_exits_0(shop_after_a_day):
    assert run_command() == (0, "Checked 4 stock row(s): no drift.\n")
    assert run_command("--repair") == (0, "Checked 4 stock row(s): no drift.\n")


def test_command_exits_1_on_reserved_drift_until_repaired(make_variant, make_cart):
    shirt = make_variant("SHIRT-M", on_hand=10)
    checkout_services.start_checkout(cart_id=make_cart({shirt: 2}).pk)
    plant(shirt, reserved=5)

    status, out = run_command()
    assert status == 1
    assert f"SHIRT-M (variant {shirt.pk}): on hand 10, ledger sum 10; reserved 5, active reservations 2." in out
    assert "reserved not repaired: run `python manage.py check_stock --repair`." in out
    assert figures(shirt) == (10, 5)

    status, out = run_command("--repair")
    assert status == 0 and "reserved repaired: 5 -> 2." in out
    assert_stock_exact(shirt.pk, on_hand=10, reserved=2)
    assert run_command() == (0, "Checked 1 stock row(s): no drift.\n")


def test_command_exits_1_on_on_hand_drift_even_with_repair(make_variant):
    shirt = make_variant("SHIRT-L", on_hand=10)
    plant(shirt, on_hand=12)

    status, out = run_command("--repair")

    assert status == 1
    assert "SHIRT-L" in out and "on hand 12, ledger sum 10" in out and "on hand NOT repaired, needs a person" in out
    assert figures(shirt) == (12, 0)


# --- the beat job ----------------------------------------------------------------------


def test_beat_runs_the_check_daily_by_default():
    from shop.celery import app
    from shop.settings import CELERY_BEAT_SCHEDULE

    assert CELERY_BEAT_SCHEDULE["check-stock"] == {"task": "inventory.tasks.check_stock", "schedule": 86400.0}
    assert app.tasks["inventory.tasks.check_stock"].name == inventory_tasks.check_stock.name


def test_the_beat_job_alerts_and_repairs_nothing(make_variant, make_cart, django_capture_on_commit_callbacks):
    shirt = make_variant(on_hand=10)
    checkout_services.start_checkout(cart_id=make_cart({shirt: 2}).pk)
    plant(shirt, reserved=6)

    with django_capture_on_commit_callbacks(execute=True):
        assert inventory_tasks.check_stock.delay().get() == 1

    assert figures(shirt) == (10, 6)
    [alert] = drift_alerts()
    assert "reserved 6, active reservations 2" in alert.body
    assert Reservation.objects.filter(variant=shirt, status=Reservation.Status.ACTIVE).count() == 1

