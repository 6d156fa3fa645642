"""The whole API flow over HTTP against Django's live server, with localstripe delivering
its signed webhooks to it, and storms of duplicate, concurrent, out-of-order deliveries."""
from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail

from cart.models import Cart
from inventory.models import Reservation, Stock, StockMovement
from inventory.selectors import ledger_balance
from orders.models import Order
from payments.models import WebhookEvent
from tests.support.stripe_fixtures import ADDRESS, CARD_OK, WEBHOOK_PATH
from tests.support.waiting import wait_until
from tests.support.shipping import rest_of_world

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def call(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def post_raw(url: str, body: bytes, signature: str) -> int | str:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "Stripe-Signature": signature}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError) as error:  # shown in the assertion, not a crash
        return f"{type(error).__name__}: {error}"


def post_together(url: str, deliveries: list[tuple[bytes, str]]) -> list[int | str]:
    """Post every (body, signature) at the same moment, each on its own connection; the
    statuses in order. Connections are opened before the barrier: the storm is one of
    requests handled at once, not of TCP handshakes (the live server listens with a
    backlog of 10, and a burst of 24 connects can be reset)."""
    target = urllib.parse.urlsplit(url)
    start = threading.Barrier(len(deliveries))

    def send(delivery: tuple[bytes, str]) -> int | str:
        body, signature = delivery
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        try:
            connection.connect()
            start.wait(timeout=30)
            connection.request("POST", target.path, body=body, headers={"Content-Type": "application/json", "Stripe-Signature": signature})
            return connection.getresponse().status
        except OSError as error:  # shown in the assertion, not a crash
            return f"{type(error).__name__}: {error}"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(deliveries)) as pool:
        return list(pool.map(send, deliveries))


def shop_checkout(base: str, lines: dict[str, int]) -> str:
    """cart -> lines -> checkout -> contact and address, as a headless storefront would."""
    status, cart = call("POST", f"{base}/api/v1/carts/", {})
    assert status == 201
    for sku, quantity in lines.items():
        status, _ = call("POST", f"{base}/api/v1/carts/{cart['id']}/lines/", {"sku": sku, "quantity": quantity})
        assert status == 201
    assert call("POST", f"{base}/api/v1/carts/{cart['id']}/checkout/")[0] == 200
    status, _ = call("PATCH", f"{base}/api/v1/carts/{cart['id']}/checkout/", {"email": "grace@example.com", "shipping_address": ADDRESS})
    assert status == 200
    return cart["id"]


@pytest.fixture
def catalog(make_variant):
    rest_of_world()  # the shop ships everywhere
    return make_variant("MUG-BLUE", price="12.50", on_hand=6, colour="blue"), make_variant("TEA-100G", price="8.00", on_hand=4)


def test_payment_confirmed_in_the_browser_becomes_one_order_through_the_webhook(live_server, stripe_webhooks, catalog, mailoutbox):
    mug, tea = catalog
    cart_id = shop_checkout(live_server.url, {"MUG-BLUE": 2, "TEA-100G": 1})

    status, payment = call("POST", f"{live_server.url}/api/v1/carts/{cart_id}/payment/", {})
    assert status == 200 and payment["amount"] == {"amount": "33.00", "currency": "USD"}
    stripe_webhooks.confirm_directly(payment["payment_intent_id"], CARD_OK)  # as Stripe.js would

    order = wait_until(lambda: Order.objects.filter(cart_id=cart_id).first(), what="the webhook to make the order")
    assert order.total.amount == 33 and order.payment_status == "paid"
    assert {s.variant_id: s.on_hand for s in Stock.objects.all()} == {mug.pk: 4, tea.pk: 3}
    assert ledger_balance(mug.pk) == 4 and ledger_balance(tea.pk) == 3
    sales = StockMovement.objects.filter(reason="sale")
    assert sorted((m.variant_id, m.delta) for m in sales) == sorted([(mug.pk, -2), (tea.pk, -1)])
    assert {m.order_id for m in sales} == {order.pk}
    assert set(Reservation.objects.filter(holder_id=cart_id).values_list("status", "order_id")) == {("committed", order.pk)}
    event = WebhookEvent.objects.get(type="payment_intent.succeeded")
    assert event.outcome == "processed" and event.result == f"order {order.number} created"
    status, cart = call("GET", f"{live_server.url}/api/v1/carts/{cart_id}/")
    assert cart["status"] == "completed" and cart["order"]["number"] == order.number
    status, shown = call("GET", f"{live_server.url}{cart['order']['url']}")
    assert status == 200 and shown["number"] == order.number and shown["total"] == {"amount": "33.00", "currency": "USD"}
    assert len(mailoutbox) == 1


def test_webhook_after_the_synchronous_confirmation_changes_nothing(live_server, stripe_webhooks, catalog, mailoutbox):
    mug, _ = catalog
    cart_id = shop_checkout(live_server.url, {"MUG-BLUE": 1})

    status, body = call("POST", f"{live_server.url}/api/v1/carts/{cart_id}/payment/", {"payment_method": stripe_webhooks.payment_method()})
    assert status == 200 and body["cart"]["status"] == "completed"
    event = wait_until(
        lambda: WebhookEvent.objects.filter(type="payment_intent.succeeded", processed_at__isnull=False).first(),
        what="localstripe's webhook",
    )

    assert event.result.endswith("already existed")
    assert Order.objects.count() == 1
    assert Stock.objects.get(variant=mug).on_hand == 5
    assert StockMovement.objects.filter(reason="sale").count() == 1
    assert len(mailoutbox) == 1


def test_twenty_concurrent_duplicates_out_of_order_with_payment_failed_make_one_order(live_server, stripe_webhooks, catalog, mailoutbox):
    mug, tea = catalog
    cart_id = shop_checkout(live_server.url, {"MUG-BLUE": 3, "TEA-100G": 2})
    status, payment = call("POST", f"{live_server.url}/api/v1/carts/{cart_id}/payment/", {})
    assert status == 200, payment
    # localstripe would deliver the event itself about 1 s after the confirmation, and
    # the storm could then meet an event handled already: only our deliveries reach the
    # shop, so the first of them are handled concurrently.
    stripe_webhooks.stop_webhooks()
    intent = stripe_webhooks.confirm_directly(payment["payment_intent_id"], CARD_OK)  # as Stripe.js would
    (succeeded,) = stripe_webhooks.events("payment_intent.succeeded")
    failed_intent = {**intent.to_dict(), "status": "requires_payment_method", "latest_charge": None,
                     "last_payment_error": {"code": "card_declined", "message": "Your card was declined."}}
    failed = stripe_webhooks.event("payment_intent.payment_failed", failed_intent)
    url = f"{live_server.url}{WEBHOOK_PATH}"
    body = json.dumps(succeeded).encode()
    success_delivery, failure_delivery = (body, stripe_webhooks.sign(body)), (failed, stripe_webhooks.sign(failed))
    # Stale failures before, among and after the successes.
    deliveries = [failure_delivery] + [success_delivery] * 10 + [failure_delivery] * 2 + [success_delivery] * 10 + [failure_delivery]
    assert not Order.objects.exists() and not WebhookEvent.objects.exists()  # nothing reached the shop yet

    statuses = post_together(url, deliveries)

    assert statuses == [200] * len(deliveries), statuses
    assert Order.objects.count() == 1
    order = Order.objects.get()
    sales = StockMovement.objects.filter(reason="sale")
    assert sorted((m.variant_id, m.delta, m.order_id) for m in sales) == sorted([(mug.pk, -3, order.pk), (tea.pk, -2, order.pk)])
    assert {s.variant_id: (s.on_hand, s.reserved) for s in Stock.objects.all()} == {mug.pk: (3, 0), tea.pk: (2, 0)}
    assert ledger_balance(mug.pk) == 3 and ledger_balance(tea.pk) == 2
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["grace@example.com"]
    stored = WebhookEvent.objects.get(stripe_event_id=succeeded["id"])
    assert (stored.deliveries, stored.attempts, stored.outcome) == (20, 1, "processed")
    assert stored.result == f"order {order.number} created"
    assert WebhookEvent.objects.get(stripe_event_id=json.loads(failed)["id"]).deliveries == 4
    assert order.payments.get().status == "succeeded"  # the stale failure never overwrote it
    assert Cart.objects.get(pk=cart_id).status == Cart.Status.COMPLETED


def test_bad_signature_over_http_is_400_and_changes_nothing(live_server, stripe_webhooks, catalog):
    cart_id = shop_checkout(live_server.url, {"MUG-BLUE": 1})
    _, payment = call("POST", f"{live_server.url}/api/v1/carts/{cart_id}/payment/", {})
    stripe_webhooks.confirm_directly(payment["payment_intent_id"])
    (succeeded,) = stripe_webhooks.events("payment_intent.succeeded")
    stripe_webhooks.stop_webhooks()
    body = json.dumps(succeeded).encode()

    status = post_raw(f"{live_server.url}{WEBHOOK_PATH}", body, stripe_webhooks.sign(body, secret="whsec_forged"))

    assert status == 400
    assert not WebhookEvent.objects.exists() and not Order.objects.exists()
    assert Cart.objects.get(pk=cart_id).status == Cart.Status.CHECKOUT
