"""Paying over HTTP as an outside suite drives docs/api.md: gunicorn (2 workers, DEBUG off)
talking to localstripe, localstripe's signed webhooks delivered to gunicorn, and a real
Celery worker with beat on the embedded file-system broker (Redis when REDIS_URL is set)
running what the web processes queue. Nothing here calls the shop's Python code: the
database is only seeded and inspected.

Exactly one order per paid cart whatever the mix of synchronous confirmations and
webhooks, none for a declined card, 3-D Secure finished at the "bank" and completed by
the webhook, no unit sold twice when carts race for the last ones, and a cancelled
checkout's PaymentIntent cancelled at Stripe by the worker."""
from __future__ import annotations

import email
import re
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from email.message import Message
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
import stripe
from django.db.models import Sum

from cart.models import Cart
from tests.support.shipping import make_method
from checkout.imports import import_catalog
from inventory.models import Reservation, Stock, StockMovement
from inventory.selectors import ledger_balance
from orders.models import Order
from payments.models import Payment, WebhookEvent
from tests.support.e2e_server import (
    CeleryWorker,
    Gunicorn,
    HttpClient,
    collect_static,
    error_of,
    json_body,
    money,
    server_environment,
    worker_environment,
)
from tests.support.stripe_fixtures import (
    CARD_3DS,
    CARD_DECLINED,
    CARD_OK,
    WEBHOOK_PATH,
    Emulator,
)
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WORKERS = 2
PRICES = {"TEE": Decimal("20.00"), "CAP": Decimal("12.50"), "LAMP": Decimal("45.50")}
STOCK = {"TEE": 40, "CAP": 20, "LAMP": 3}
SHIPPING = Decimal("4.95")
CATALOG = {
    "products": [
        {"slug": slug, "name": name, "variants": [{"sku": sku, "price_usd": str(PRICES[sku]), "stock": STOCK[sku], "low_stock_threshold": 1}]}
        for slug, name, sku in (("tee", "Plain tee", "TEE"), ("cap", "Cap", "CAP"), ("last-lamp", "Last lamp", "LAMP"))
    ]
}
ADDRESS = {"name": "Grace Hopper", "line1": "1 Compiler Way", "city": "Arlington", "region": "VA", "postal_code": "22201", "country": "US"}
ORDER_NUMBER = re.compile(r"^ORD-\d{4}-\d{5}$")
WAIT_SECONDS = 30.0


@dataclass
class Stack:
    server: Gunicorn
    worker: CeleryWorker
    emulator: Emulator
    mail_dir: Path


@pytest.fixture(scope="module")
def stack(django_db_setup, localstripe_url, tmp_path_factory):
    """gunicorn and a Celery worker on the test database, both pointed at localstripe,
    whose webhooks go to gunicorn; the test process's SDK points at localstripe too."""
    from django.db import connection

    folder = tmp_path_factory.mktemp("e2e-payments")
    emulator = Emulator(localstripe_url, f"whsec_{secrets.token_hex(16)}")
    mail_dir = folder / "mail"
    env = worker_environment(server_environment(database=connection.settings_dict, static_root=folder / "static"), broker_dir=folder / "broker")
    env.update(
        STRIPE_API_BASE=localstripe_url,
        STRIPE_SECRET_KEY="sk_test_emulated",
        STRIPE_PUBLISHABLE_KEY="pk_test_emulated",
        STRIPE_WEBHOOK_SECRET=emulator.webhook_secret,
        STRIPE_MAX_NETWORK_RETRIES="0",
        STRIPE_TIMEOUT_SECONDS="10",
        STRIPE_CAPTURE_METHOD="automatic",
        EMAIL_URL=f"filemail:///{mail_dir}",  # one file per connection, every message in it
    )
    collect_static(env)
    saved = (stripe.api_base, stripe.api_key, stripe.max_network_retries)
    stripe.api_base, stripe.api_key, stripe.max_network_retries = localstripe_url, "sk_test_emulated", 0
    server = Gunicorn(env=env, workers=WORKERS, log_dir=folder)
    worker = CeleryWorker(env=env, log_dir=folder)
    try:
        server.wait_ready()
        worker.wait_ready()
        # Events of earlier tests (sent about 1 s after they happen) go out to no one: to a
        # throw-away listener, until an event made now has arrived there.
        emulator.drain_webhooks()
        emulator.clear()
        emulator.send_webhooks_to(f"{server.base_url}{WEBHOOK_PATH}")
        yield Stack(server, worker, emulator, mail_dir)
    finally:
        emulator.stop_webhooks()
        # Both before django_db_setup drops the database they are connected to.
        server.stop()
        worker.stop()
        stripe.api_base, stripe.api_key, stripe.max_network_retries = saved


@pytest.fixture(autouse=True)
def processes_stay_healthy(stack):
    """No request ends as a 500 or costs a gunicorn worker; no task fails in the worker."""
    server_offset = stack.server.log_size()
    worker_offset = len(stack.worker.log_text())
    yield
    server_log = stack.server.log_since(server_offset)
    for sign in ("Internal Server Error", "CRITICAL", "Worker (pid", "Traceback"):
        assert sign not in server_log, server_log[-4000:]
    worker_log = stack.worker.log_text()[worker_offset:]
    for sign in ("ERROR/", "CRITICAL/", "Traceback"):
        assert sign not in worker_log, worker_log[-4000:]


@pytest.fixture
def world(stack):
    """The catalog and a shipping method, committed so the server and worker see them;
    no email yet."""
    import_catalog(CATALOG)
    make_method(code="standard", name="Standard", price=SHIPPING, position=0)
    for sent in stack.mail_dir.glob("*") if stack.mail_dir.exists() else ():
        sent.unlink()
    return stack


# --- an outside client's steps -----------------------------------------------------------


def shopper_checkout(base_url: str, lines: dict[str, int], email_address: str) -> dict[str, Any]:
    """cart -> lines -> checkout -> email, address and shipping method; the cart."""
    with HttpClient(base_url) as http:
        cart = json_body(http.post("/api/v1/carts/", json={}), 201)
        for sku, quantity in lines.items():
            cart = json_body(http.post(f"/api/v1/carts/{cart['id']}/lines/", json={"sku": sku, "quantity": quantity}), 201)
        cart = json_body(http.post(f"/api/v1/carts/{cart['id']}/checkout/"), 200)
        assert cart["status"] == "checkout" and cart["reservation_expires_at"]
        details = {"email": email_address, "shipping_address": ADDRESS, "shipping_method": "standard"}
        return json_body(http.patch(f"/api/v1/carts/{cart['id']}/checkout/", json=details), 200)


def pay(base_url: str, cart_id: str, payment_method: str | None = None) -> requests.Response:
    with HttpClient(base_url) as http:
        return http.post(f"/api/v1/carts/{cart_id}/payment/", json={"payment_method": payment_method} if payment_method else {})


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together by a barrier; their results in order."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        start.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def total_of(lines: dict[str, int]) -> Decimal:
    return sum((PRICES[sku] * quantity for sku, quantity in lines.items()), SHIPPING)


def webhook_handled(intent_id: str, event_type: str) -> WebhookEvent | None:
    return WebhookEvent.objects.filter(object_id=intent_id, type=event_type, processed_at__isnull=False).first()


def sent_emails(mail_dir: Path) -> list[Message]:
    """Every message the file backend wrote (messages separated by a line of 79 dashes)."""
    messages = []
    for path in sorted(mail_dir.glob("*")) if mail_dir.exists() else ():
        for chunk in path.read_bytes().split(b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk))
    return messages


def on_hand(sku: str) -> int:
    return Stock.objects.get(variant__sku=sku).on_hand


# --- exactly one order per paid cart --------------------------------------------------------

PAID_CARTS = [{"TEE": 1 + n % 3, **({"CAP": 1 + n % 2} if n % 4 else {})} for n in range(8)]
DECLINED_CART = {"TEE": 2}
SECURE_CART = {"TEE": 1, "CAP": 2}


def test_every_paid_cart_becomes_exactly_one_order_and_a_declined_card_none(world):
    base = world.server.base_url
    plans = [(lines, f"shopper-{n}@example.com", CARD_OK) for n, lines in enumerate(PAID_CARTS)]
    plans += [(DECLINED_CART, "declined@example.com", CARD_DECLINED), (SECURE_CART, "secure@example.com", CARD_3DS)]
    carts = all_at_once([lambda plan=plan: shopper_checkout(base, plan[0], plan[1]) for plan in plans])
    cards = [world.emulator.payment_method(number) for _, _, number in plans]  # as Stripe.js would make them

    answers = all_at_once([lambda cart=cart, card=card: pay(base, cart["id"], card) for cart, card in zip(carts, cards)])

    payment_workers = {line.worker_pid for line in world.server.served() if line.path.endswith("/payment/")}
    assert len(payment_workers) == WORKERS, "the payments ran in one worker only; that proves nothing across processes"

    paid = list(zip(plans[:8], carts[:8], answers[:8]))
    for (lines, _, _), cart, answer in paid:
        body = json_body(answer, 200)
        assert body["status"] == "succeeded" and body["amount"] == money(f"{total_of(lines):.2f}", "USD")
        assert body["cart"]["id"] == cart["id"] and body["cart"]["status"] == "completed"
        assert ORDER_NUMBER.match(body["cart"]["order"]["number"]), body["cart"]["order"]
    declined_cart, secure_cart = carts[8], carts[9]
    declined = error_of(answers[8], 402, "payment_failed")
    assert declined["details"] == {"decline_code": "card_declined"}
    assert "declined" in declined["message"] and "Nothing was charged" in declined["message"]
    secure = json_body(answers[9], 200)
    assert secure["status"] == "requires_action" and secure["client_secret"] and secure["cart"]["status"] == "checkout"
    assert secure["amount"] == money(f"{total_of(SECURE_CART):.2f}", "USD")

    # The shopper's bank confirms 3-D Secure; the shop learns it from the webhook alone.
    world.emulator.authenticate(secure["payment_intent_id"], secure["client_secret"], success=True)
    with HttpClient(base) as http:
        completed = wait_until(
            lambda: (c := json_body(http.get(f"/api/v1/carts/{secure_cart['id']}/"), 200))["status"] == "completed" and c,
            what="the webhook to complete the 3-D Secure cart",
            timeout=WAIT_SECONDS,
            interval=0.2,
        )
        # Asking again after the webhook made the order returns it and charges nothing.
        again = json_body(http.post(f"/api/v1/carts/{secure_cart['id']}/payment/", json={}), 200)
    assert again["cart"]["order"]["number"] == completed["order"]["number"]
    assert again["payment_intent_id"] == secure["payment_intent_id"] and again["status"] == "succeeded"

    paid_intents = [json_body(answer, 200)["payment_intent_id"] for answer in answers[:8]] + [secure["payment_intent_id"]]
    declined_intent = Payment.objects.get(cart_id=declined_cart["id"]).stripe_payment_intent_id
    events = wait_until(
        lambda: (found := [webhook_handled(pi, "payment_intent.succeeded") for pi in paid_intents]) and all(found) and found,
        what="localstripe's payment_intent.succeeded webhooks",
        timeout=WAIT_SECONDS,
        interval=0.2,
    )
    wait_until(lambda: webhook_handled(declined_intent, "payment_intent.payment_failed"), what="the payment_failed webhook", timeout=WAIT_SECONDS, interval=0.2)

    # Each event handled once: the 8 synchronous confirmations made their orders, the
    # webhook found them; the 3-D Secure order was made by its webhook.
    assert [(e.outcome, e.attempts) for e in events] == [("processed", 1)] * 9
    assert [e.result.endswith("already existed") for e in events] == [True] * 8 + [False]
    assert events[-1].result == f"order {completed['order']['number']} created"
    paid_plans = plans[:8] + [plans[9]]
    paid_carts = carts[:8] + [secure_cart]
    assert Order.objects.count() == len(paid_carts)
    for (lines, email_address, _), cart in zip(paid_plans, paid_carts):
        order = Order.objects.get(cart_id=cart["id"])  # exactly one
        assert (order.status, order.payment_status, order.email) == ("paid", "paid", email_address)
        assert order.total.amount == total_of(lines) and order.total.currency.code == "USD"
        assert {line.sku: line.quantity for line in order.lines.all()} == lines
        sales = StockMovement.objects.filter(order_id=order.pk)
        assert {m.variant.sku: -m.delta for m in sales} == lines and {m.reason for m in sales} == {"sale"}
        with HttpClient(base) as http:
            shown_cart = json_body(http.get(f"/api/v1/carts/{cart['id']}/"), 200)
            assert shown_cart["status"] == "completed" and shown_cart["order"]["number"] == order.number
            shown = json_body(http.get(shown_cart["order"]["url"]), 200)
            error_of(http.get(f"/api/v1/orders/{order.number}/"), 404, "not_found")
            error_of(http.get(f"/api/v1/orders/{order.number}/", params={"token": "forged"}), 404, "not_found")
        assert (shown["number"], shown["status"], shown["payment_status"]) == (order.number, "paid", "paid")
        assert shown["total"] == money(f"{total_of(lines):.2f}", "USD") and shown["refunded"] == money("0.00", "USD")
        assert {line["sku"]: line["quantity"] for line in shown["lines"]} == lines

    # Stock dropped by exactly what was paid for; the declined cart still holds its units.
    sold = Counter()
    for lines, _, _ in paid_plans:
        sold.update(lines)
    for sku in ("TEE", "CAP"):
        assert on_hand(sku) == STOCK[sku] - sold[sku] == ledger_balance(Stock.objects.get(variant__sku=sku).variant_id)
    assert not StockMovement.objects.filter(reason="sale", order_id__isnull=True).exists()
    assert Stock.objects.get(variant__sku="TEE").reserved == DECLINED_CART["TEE"]
    assert Stock.objects.get(variant__sku="CAP").reserved == 0
    assert not Order.objects.filter(cart_id=declined_cart["id"]).exists()
    assert Cart.objects.get(pk=declined_cart["id"]).status == Cart.Status.CHECKOUT
    assert list(Reservation.objects.filter(holder_id=declined_cart["id"]).values_list("variant__sku", "quantity", "status")) == [
        ("TEE", 2, "active")
    ]

    # One confirmation email per order, none for the declined card. Emails leave through
    # the worker after the order commits: wait for it, then check no extra one follows.
    expected = Counter(email_address for _, email_address, _ in paid_plans)
    wait_until(
        lambda: Counter(message["To"] for message in sent_emails(world.mail_dir)) == expected,
        what="one confirmation email per order from the worker", timeout=WAIT_SECONDS, interval=0.2,
    )
    time.sleep(1)
    assert Counter(message["To"] for message in sent_emails(world.mail_dir)) == expected


# --- the last units -------------------------------------------------------------------------


def test_carts_racing_for_the_last_units_never_oversell(world):
    base = world.server.base_url
    contenders = 7
    with HttpClient(base) as http:
        cart_ids = []
        for _ in range(contenders):
            cart = json_body(http.post("/api/v1/carts/", json={}), 201)
            for sku in ("LAMP", "TEE"):
                json_body(http.post(f"/api/v1/carts/{cart['id']}/lines/", json={"sku": sku, "quantity": 1}), 201)
            cart_ids.append(cart["id"])

    def start_checkout(cart_id: str) -> requests.Response:
        with HttpClient(base) as client:
            return client.post(f"/api/v1/carts/{cart_id}/checkout/")

    started = all_at_once([lambda cart_id=cart_id: start_checkout(cart_id) for cart_id in cart_ids])

    winners = [cart_id for cart_id, answer in zip(cart_ids, started) if answer.status_code == 200]
    losers = [cart_id for cart_id, answer in zip(cart_ids, started) if answer.status_code != 200]
    assert len(winners) == STOCK["LAMP"], [a.status_code for a in started]
    for cart_id, answer in zip(cart_ids, started):
        if cart_id in losers:
            error = error_of(answer, 409, "insufficient_stock")
            assert error["details"] == {"items": [{"sku": "LAMP", "requested": 1, "available": 0}]}
    # All or nothing: a loser holds no TEE either.
    assert not Reservation.objects.filter(holder_id__in=losers).exists()
    assert Stock.objects.get(variant__sku="LAMP").reserved == STOCK["LAMP"]
    assert Stock.objects.get(variant__sku="TEE").reserved == STOCK["LAMP"]

    with HttpClient(base) as http:
        for cart_id in winners:
            details = {"email": "racer@example.com", "shipping_address": ADDRESS, "shipping_method": "standard"}
            json_body(http.patch(f"/api/v1/carts/{cart_id}/checkout/", json=details), 200)
    cards = [world.emulator.payment_method(CARD_OK) for _ in winners]
    paid = all_at_once([lambda cart_id=cart_id, card=card: pay(base, cart_id, card) for cart_id, card in zip(winners, cards)])

    assert [json_body(answer, 200)["cart"]["status"] for answer in paid] == ["completed"] * len(winners)
    lamp = Stock.objects.get(variant__sku="LAMP")
    assert (lamp.on_hand, lamp.reserved) == (0, 0) and ledger_balance(lamp.variant_id) == 0
    assert on_hand("TEE") == STOCK["TEE"] - len(winners)
    assert StockMovement.objects.filter(variant=lamp.variant, reason="sale").aggregate(n=Sum("delta"))["n"] == -STOCK["LAMP"]
    assert {str(c) for c in Order.objects.values_list("cart_id", flat=True)} == set(winners)
    with HttpClient(base) as http:
        loser = losers[0]
        error_of(http.post(f"/api/v1/carts/{loser}/payment/", json={}), 409, "cart_not_in_checkout")
        error = error_of(http.post(f"/api/v1/carts/{loser}/checkout/"), 409, "insufficient_stock")
        assert error["details"] == {"items": [{"sku": "LAMP", "requested": 1, "available": 0}]}
        variant = json_body(http.get("/api/v1/products/last-lamp/"), 200)["variants"][0]
        assert (variant["available"], variant["availability"]) == (0, "out_of_stock")
    intents = [json_body(answer, 200)["payment_intent_id"] for answer in paid]
    # Their webhooks arrive within this test, not during the next one.
    wait_until(lambda: all(webhook_handled(pi, "payment_intent.succeeded") for pi in intents), what="the webhooks of the winners", timeout=WAIT_SECONDS, interval=0.2)
    assert Order.objects.count() == STOCK["LAMP"]


# --- a checkout that ends without payment -----------------------------------------------------


def test_cancelled_checkout_has_its_payment_intent_cancelled_at_stripe_by_the_worker(world):
    base = world.server.base_url
    cart = shopper_checkout(base, {"CAP": 2}, "undecided@example.com")
    asked = json_body(pay(base, cart["id"]), 200)
    assert asked["status"] == "requires_payment_method" and asked["amount"] == money("29.95", "USD")
    intent_id = asked["payment_intent_id"]

    with HttpClient(base) as http:
        cancelled = json_body(http.delete(f"/api/v1/carts/{cart['id']}/checkout/"), 200)

    assert cancelled["status"] == "active" and cancelled["reservation_expires_at"] is None
    assert Stock.objects.get(variant__sku="CAP").reserved == 0
    # gunicorn runs no task itself (not eager): the worker takes it from the broker.
    wait_until(lambda: stripe.PaymentIntent.retrieve(intent_id).status == "canceled", what="the worker to cancel the PaymentIntent", timeout=WAIT_SECONDS, interval=0.2)
    log = wait_until(
        lambda: re.search(r"Task checkout\.payment\.cancel_payment_for_cart\[[^\]]+\] succeeded", text := world.worker.log_text()) and text,
        what="the worker to log the task",
        timeout=WAIT_SECONDS,
        interval=0.2,
    )
    assert "checkout.payment.cancel_payment_for_cart" in log
    assert Payment.objects.get(stripe_payment_intent_id=intent_id).status == "canceled"
    assert not Order.objects.exists() and on_hand("CAP") == STOCK["CAP"]


# --- the payment step's errors, in their documented shapes ------------------------------------


def test_payment_errors_have_their_documented_shape_and_change_nothing(world):
    base = world.server.base_url
    with HttpClient(base) as http:
        error_of(http.post("/api/v1/carts/5b0c7a5e-0000-4000-8000-000000000000/payment/", json={}), 404, "not_found")
        active = json_body(http.post("/api/v1/carts/", json={}), 201)
        json_body(http.post(f"/api/v1/carts/{active['id']}/lines/", json={"sku": "TEE", "quantity": 1}), 201)
        error_of(http.post(f"/api/v1/carts/{active['id']}/payment/", json={}), 409, "cart_not_in_checkout")
        json_body(http.post(f"/api/v1/carts/{active['id']}/checkout/"), 200)
        incomplete = error_of(http.post(f"/api/v1/carts/{active['id']}/payment/", json={}), 400, "checkout_incomplete")
        assert set(incomplete["details"]["missing"]) == {"email", "shipping_address"}
        details = {"email": "careful@example.com", "shipping_address": ADDRESS, "shipping_method": "standard"}
        json_body(http.patch(f"/api/v1/carts/{active['id']}/checkout/", json=details), 200)
        for bad in ("tok_visa", 42, "pm_" + "x" * 300):
            invalid = error_of(http.post(f"/api/v1/carts/{active['id']}/payment/", json={"payment_method": bad}), 400, "invalid")
            assert "payment_method" in invalid["details"]
        unknown = error_of(http.post(f"/api/v1/carts/{active['id']}/payment/", json={"payment_method": "pm_doesnotexist"}), 400, "invalid")
        assert "payment_method" in unknown["details"]
        cart = json_body(http.get(f"/api/v1/carts/{active['id']}/"), 200)

    assert cart["status"] == "checkout" and cart["order"] is None
    assert not Order.objects.exists() and on_hand("TEE") == STOCK["TEE"]
    assert Stock.objects.get(variant__sku="TEE").reserved == 1
    assert not Payment.objects.filter(status__in=("succeeded", "requires_capture")).exists()
