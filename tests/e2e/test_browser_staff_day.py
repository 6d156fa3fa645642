"""A staff member's day in a real browser (Debian's chromium through Playwright): log into
the admin, ship part of an order, refund a returned unit with restock, look at the sales
chart; the customer sees the tracking link and cancels another order from its page.
Stock, money and Stripe agree afterwards. Screenshots go to /tmp/shots/."""
from __future__ import annotations

import re
from decimal import Decimal

import stripe
from django.contrib.auth import get_user_model
from moneyed import Money

from inventory.models import Stock, StockMovement
from orders.models import Order
from tests.conftest import JsonClient
from tests.support.browser_fixtures import SHOTS, off_loop
from tests.support.stripe_fixtures import start_paying

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
PASSWORD = "pw-staff-day-1"


def _paid_order(emulator, make_cart, variants: dict, email: str) -> Order:
    api = JsonClient()
    cart = make_cart(variants)
    start_paying(api, cart.pk, email=email)
    response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": emulator.payment_method()})
    assert response.status_code == 200, response.content
    return Order.objects.get(cart=cart)


def _stock(variant_id: int) -> tuple[int, int]:
    stock = Stock.objects.get(variant_id=variant_id)
    return stock.on_hand, stock.reserved


def test_staff_ship_refund_and_read_the_chart_and_the_customer_tracks_and_cancels(
    browser_stripe, live_server, chromium, make_variant, make_cart, settings
):
    settings.STAFF_ALERT_EMAILS = ["ops@example.com"]

    def world():
        lamp = make_variant("LAMP-1", price="40.00", on_hand=5)
        bulb = make_variant("BULB-1", price="5.00", on_hand=20)
        shipped = _paid_order(browser_stripe, make_cart, {lamp: 2, bulb: 3}, "ada@example.com")
        cancelled = _paid_order(browser_stripe, make_cart, {lamp: 1}, "ada@example.com")
        get_user_model().objects.create_superuser("manager", "manager@example.com", PASSWORD)
        return lamp.pk, bulb.pk, shipped, cancelled

    lamp_id, bulb_id, first, second = off_loop(world)
    base = live_server.url

    # --- staff --------------------------------------------------------------------------
    page = chromium.new_page(viewport=DESKTOP)
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.goto(f"{base}/admin/orders/order/{first.pk}/change/")
    page.click("a.button:has-text('Ship…')")
    line_inputs = page.locator("input[name^=line_]")
    assert line_inputs.count() == 2
    page.select_option("select[name=carrier]", "ups")
    page.fill("input[name=tracking_number]", "1Z999AA1")
    lamp_line, bulb_line = off_loop(lambda: (first.lines.get(sku="LAMP-1").pk, first.lines.get(sku="BULB-1").pk))
    page.fill(f"input[name=line_{lamp_line}]", "2")
    page.fill(f"input[name=line_{bulb_line}]", "0")
    page.screenshot(path=str(SHOTS / "staff-ship.png"), full_page=True)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/orders/order/\d+/change/$"))
    assert "Shipped UPS 1Z999AA1" in page.content()

    page.click("a.button:has-text('Return and refund…')")
    page.fill(f"input[name=line_{bulb_line}]", "1")
    page.check("input[name=restock]")
    page.screenshot(path=str(SHOTS / "staff-return.png"), full_page=True)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/orders/order/\d+/change/$"))
    assert "Refund of $5.00 succeeded" in page.content()

    page.goto(f"{base}/admin/orders/salesoverview/")
    chart = page.locator("svg[role=img]")
    assert chart.count() == 1
    page.screenshot(path=str(SHOTS / "staff-sales-overview.png"), full_page=True)

    # --- the customer -----------------------------------------------------------------
    phone = chromium.new_page(viewport=PHONE)
    phone.goto(f"{base}/orders/{first.number}/?token={first.access_token}")
    tracking = phone.locator('a[href="https://www.ups.com/track?tracknum=1Z999AA1"]')
    assert tracking.count() == 1
    assert "Cancel this order" not in phone.content()  # part of it is on its way
    phone.screenshot(path=str(SHOTS / "customer-tracking-375.png"), full_page=True)

    phone.goto(f"{base}/orders/{second.number}/?token={second.access_token}")
    phone.click("form.cancel-order button")
    phone.wait_for_selector(f"text=Order {second.number} is cancelled.")
    phone.screenshot(path=str(SHOTS / "customer-cancelled-375.png"), full_page=True)

    # --- stock, money and Stripe agree --------------------------------------------------
    def figures():
        first.refresh_from_db()
        second.refresh_from_db()
        intent = stripe.PaymentIntent.retrieve(second.payments.get().stripe_payment_intent_id)
        refunded_second = sum(int(r.amount) for r in stripe.Refund.list(charge=intent.latest_charge.id).data)
        return {
            "statuses": (first.status, second.status),
            "refunded": (first.refunded, second.refunded),
            "stripe_second": refunded_second,
            "lamp": _stock(lamp_id),
            "bulb": _stock(bulb_id),
            "returned": list(StockMovement.objects.filter(reason="return").values_list("variant_id", "delta", "order_id")),
        }

    seen = off_loop(figures)
    assert seen["statuses"] == ("partially_shipped", "cancelled")
    assert seen["refunded"] == (Money(Decimal("5.00"), "USD"), Money(Decimal("40.00"), "USD"))
    assert seen["stripe_second"] == 4000
    assert seen["lamp"] == (5 - 2, 0)  # 2 sold and shipped; the cancelled one came back
    assert seen["bulb"] == (20 - 3 + 1, 0)  # 3 sold, 1 returned and restocked
    assert seen["returned"] == [(bulb_id, 1, first.pk)]
