"""Checkout-flow benchmark: full checkouts per second through the service layer with every
Stripe call made against localstripe, and a storm of 1000 duplicate webhook deliveries of
one paid intent, timed, with its outcome checked (exactly one order, one stock commit,
one email).

A checkout here is what a shopper's visit costs the shop: create the cart, add two lines,
start checkout (reserve), give email and address, then `checkout.payment.request_payment`
with a card, which creates the PaymentIntent, attaches the card, confirms it and runs
`checkout.completion.complete_checkout` (stock commit, order, lines, email). The card's
PaymentMethod is made beforehand, as Stripe.js does in the shopper's browser. Each checkout
takes its own SKUs' stock so rows are not the bottleneck; the Stripe share is reported
(localstripe pickles its whole store on every write, so it is slower than Stripe's API is
fast, and it is cleared between rounds).

The storm: one intent paid at localstripe, its signed payment_intent.succeeded event
delivered N times at once, first through the service (`payments.webhooks.receive` on
threads), then over HTTP to gunicorn (several workers), each against a fresh cart.

Usage: .venv/bin/python bench/checkout_flow.py [--checkouts 150] [--clients 1,4]
       [--deliveries 1000] [--storm-threads 32] [--gunicorn-workers 4] [--no-http] [--keep-db]
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import common

DB_NAME = "bench_checkout_flow"
ADDRESS = {"name": "Bench Shopper", "line1": "1 Load Street", "city": "Testville", "postal_code": "12345", "country": "US"}
WEBHOOK_SECRET = f"whsec_bench_{secrets.token_hex(8)}"


def start_localstripe(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = common.free_port()
    log = open(workdir / "localstripe.log", "wb")
    process = subprocess.Popen(
        [str(common.ROOT / ".venv" / "bin" / "localstripe"), "--port", str(port), "--from-scratch"],
        stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}"
    common.wait_http(f"{url}/js.stripe.com/v3/", process=process)
    return process, url


def clear_localstripe(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/_config/data", method="DELETE"), timeout=10).read()


# --- part 1: checkouts per second -----------------------------------------------------


@dataclass
class StripeClock:
    """Wall time spent in the shop's Stripe requests (payments.stripe_client._call), summed over threads."""

    seconds: float = 0.0
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, module, names: list[str]) -> None:
        for name in names:
            original = getattr(module, name)

            def timed(*args, __original=original, **kwargs):
                started = time.perf_counter()
                try:
                    return __original(*args, **kwargs)
                finally:
                    with self.lock:
                        self.seconds += time.perf_counter() - started
                        self.calls += 1

            setattr(module, name, timed)


def make_catalog(count: int) -> list[tuple[str, str]]:
    """Pairs of SKUs, one pair per checkout, each with enough stock."""
    from decimal import Decimal

    from moneyed import Money

    from catalog.models import Product, Variant
    from inventory import services as inventory
    from inventory.models import StockMovement

    product = Product.objects.create(slug="bench-product", name="Bench product")
    pairs = []
    for i in range(count):
        skus = (f"BENCH-{i}-A", f"BENCH-{i}-B")
        for j, sku in enumerate(skus):
            variant = Variant.objects.create(product=product, sku=sku, price=Money(Decimal("12.34") + j, "USD"))
            inventory.adjust(variant_id=variant.pk, delta=10, reason=StockMovement.Reason.RECEIVED)
        pairs.append(skus)
    return pairs


def one_checkout(skus: tuple[str, str], payment_method: str) -> str:
    from cart import services as cart_services
    from checkout import services as checkout_services
    from checkout import payment as checkout_payment

    cart = cart_services.create_cart(currency="USD")
    cart_services.add_line(cart_id=cart.pk, sku=skus[0], quantity=2)
    cart_services.add_line(cart_id=cart.pk, sku=skus[1], quantity=1)
    checkout_services.start_checkout(cart_id=cart.pk)
    checkout_services.update_checkout(cart_id=cart.pk, email="bench@example.com", shipping_address=ADDRESS)
    result = checkout_payment.request_payment(cart_id=cart.pk, payment_method=payment_method)
    if result.status != "succeeded":
        raise RuntimeError(f"checkout ended {result.status}")
    return str(cart.pk)


def run_checkouts(pairs: list[tuple[str, str]], methods: list[str], clients: int, clock: StripeClock) -> dict:
    from django.db import connection

    jobs = list(zip(pairs, methods))
    latencies: list[float] = []
    errors: list[str] = []
    guard = threading.Lock()
    position = iter(range(len(jobs)))

    def worker() -> None:
        try:
            while True:
                with guard:
                    index = next(position, None)
                if index is None:
                    return
                started = time.perf_counter()
                try:
                    one_checkout(*jobs[index])
                    elapsed = time.perf_counter() - started
                    with guard:
                        latencies.append(elapsed)
                except Exception as exc:  # noqa: BLE001 - counted and shown
                    with guard:
                        errors.append(repr(exc))
        finally:
            connection.close()

    clock.seconds, clock.calls = 0.0, 0
    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "done": len(latencies),
        "errors": errors,
        "wall": wall,
        "rate": len(latencies) / wall if wall else 0.0,
        "p50": statistics.median(latencies) if latencies else 0.0,
        "p95": statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 20 else max(latencies, default=0.0),
        "stripe_seconds": clock.seconds,
        "stripe_calls": clock.calls,
    }


# --- part 2: the webhook storm --------------------------------------------------------


def paid_event(localstripe: str, skus: tuple[str, str]) -> tuple[str, bytes]:
    """A cart whose intent was confirmed at Stripe (as the browser does), and the signed
    body of its payment_intent.succeeded event."""
    import stripe

    from cart import services as cart_services
    from checkout import services as checkout_services
    from checkout import payment as checkout_payment

    cart = cart_services.create_cart(currency="USD")
    cart_services.add_line(cart_id=cart.pk, sku=skus[0], quantity=2)
    cart_services.add_line(cart_id=cart.pk, sku=skus[1], quantity=1)
    checkout_services.start_checkout(cart_id=cart.pk)
    checkout_services.update_checkout(cart_id=cart.pk, email="storm@example.com", shipping_address=ADDRESS)
    intent_id = checkout_payment.request_payment(cart_id=cart.pk).payment_intent_id
    pm = stripe.PaymentMethod.create(type="card", card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"})
    stripe.PaymentIntent.modify(intent_id, payment_method=pm.id)
    stripe.PaymentIntent.confirm(intent_id)
    events = [e for e in stripe.Event.list(type="payment_intent.succeeded").data if e.data.object.id == intent_id]
    return str(cart.pk), json.dumps(events[0].to_dict()).encode()


def storm_outcome(cart_id: str, event_id: str) -> dict:
    from inventory.models import StockMovement
    from orders.models import Order
    from payments.models import WebhookEvent

    orders = list(Order.objects.filter(cart_id=cart_id))
    stored = WebhookEvent.objects.get(stripe_event_id=event_id)
    return {
        "orders": len(orders),
        "sale_movements": StockMovement.objects.filter(order__in=orders, reason="sale").count(),
        "deliveries_stored": stored.deliveries,
        "handled": stored.attempts,
        "outcome": stored.outcome,
    }


def storm_service(body: bytes, deliveries: int, threads: int) -> tuple[float, list[int]]:
    import stripe
    from django.db import connection

    from payments import webhooks
    from payments.models import WebhookEvent

    signature = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET)
    statuses: list[int] = []
    guard = threading.Lock()

    def deliver(_: int) -> None:
        try:
            event = webhooks.receive(payload=body, signature=signature)
            status = 500 if event.outcome == WebhookEvent.Outcome.FAILED else 200
        except Exception:  # noqa: BLE001
            status = 599
        finally:
            connection.close()
        with guard:
            statuses.append(status)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(deliver, range(deliveries)))
    return time.perf_counter() - started, statuses


def storm_http(url: str, body: bytes, deliveries: int, threads: int) -> tuple[float, list[int]]:
    import stripe

    signature = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET)

    def deliver(_: int) -> int:
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", "Stripe-Signature": signature}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except (urllib.error.URLError, OSError):
            return 599

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = list(pool.map(deliver, range(deliveries)))
    return time.perf_counter() - started, statuses


def start_gunicorn(workdir: Path, database_url: str, localstripe: str, workers: int, mail_dir: Path) -> tuple[subprocess.Popen, str]:
    port = common.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "STRIPE_API_BASE": localstripe,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_MAX_NETWORK_RETRIES": "0",
        "EMAIL_URL": f"filemail:///{mail_dir}",  # django-environ drops one slash of an absolute path
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "ERROR",
        "API_RATE_LIMIT": "1000000/minute",
    }
    log = open(workdir / "gunicorn.log", "wb")
    process = subprocess.Popen(
        [str(common.ROOT / ".venv" / "bin" / "gunicorn"), "shop.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", "4", "--log-level", "warning"],
        cwd=common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    common.wait_http(f"{base}/api/v1/currencies/", process=process, timeout=60)
    return process, base


# --- main -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=150, help="checkouts per client count")
    parser.add_argument("--clients", default="1,4", help="comma-separated thread counts")
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--storm-threads", type=int, default=32)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--http", action=argparse.BooleanOptionalAction, default=True, help="also storm gunicorn over HTTP")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    client_counts = [int(n) for n in args.clients.split(",")]

    print(f"checkout-flow benchmark: {common.machine_load()}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-checkout-"))
    localstripe_process, localstripe = start_localstripe(workdir)
    os.environ.update({"STRIPE_API_BASE": localstripe, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_MAX_NETWORK_RETRIES": "0"})
    url = common.recreate_database(DB_NAME)
    gunicorn = None
    try:
        common.setup_django(url)
        common.migrate()
        import stripe
        from django.conf import settings
        from django.core import mail

        from payments import stripe_client

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        mail.outbox = []
        stripe.api_base, stripe.api_key, stripe.max_network_retries = localstripe, settings.STRIPE_SECRET_KEY, 0
        clock = StripeClock()
        clock.wrap(stripe_client, ["_call"])  # every request the shop makes to Stripe goes through it

        rounds = len(client_counts)
        pairs = make_catalog(args.checkouts * rounds + 2)
        print(f"\n1. Full checkouts through the service layer, Stripe calls to localstripe ({args.checkouts} per row)")
        rows = []
        for i, clients in enumerate(client_counts):
            clear_localstripe(localstripe)
            methods = [
                stripe.PaymentMethod.create(type="card", card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}).id
                for _ in range(args.checkouts)
            ]
            chunk = pairs[i * args.checkouts:(i + 1) * args.checkouts]
            r = run_checkouts(chunk, methods, clients, clock)
            share = r["stripe_seconds"] / (r["wall"] * clients) if r["wall"] else 0
            rows.append([str(clients), str(r["done"]), str(len(r["errors"])), f"{r['rate']:.1f}", f"{r['p50'] * 1000:.0f}",
                         f"{r['p95'] * 1000:.0f}", f"{r['stripe_calls'] / max(r['done'], 1):.1f}", f"{share:.0%}"])
            for error in r["errors"][:3]:
                print(f"   error: {error}", file=sys.stderr)
        common.print_table(["clients", "checkouts", "errors", "checkouts/s", "p50 ms", "p95 ms", "stripe requests/checkout", "time in stripe"], rows)
        from orders.models import Order

        print(f"   orders made: {Order.objects.count()}, confirmation emails: {len(mail.outbox)}")

        print(f"\n2. Storm: one signed payment_intent.succeeded delivered {args.deliveries} times at once")
        clear_localstripe(localstripe)
        cart_id, body = paid_event(localstripe, pairs[-2])
        event_id = json.loads(body)["id"]
        emails_before = len(mail.outbox)
        seconds, statuses = storm_service(body, args.deliveries, args.storm_threads)
        outcome = storm_outcome(cart_id, event_id)
        emails = len(mail.outbox) - emails_before
        print(f"   service layer, {args.storm_threads} threads: {seconds:.2f} s, {args.deliveries / seconds:.0f} deliveries/s, "
              f"answers {dict(sorted({s: statuses.count(s) for s in set(statuses)}.items()))}")
        ok = outcome["orders"] == 1 and outcome["sale_movements"] == 2 and emails == 1 and outcome["handled"] == 1
        print(f"   outcome: {outcome['orders']} order, {outcome['sale_movements']} sale movements (2 lines), {emails} email, "
              f"event stored once with {outcome['deliveries_stored']} deliveries, handled {outcome['handled']}x -> "
              f"{'EXACTLY ONCE' if ok else 'WRONG'}")

        if args.http:
            from django.db import connections

            connections.close_all()
            mail_dir = workdir / "mail"
            mail_dir.mkdir()
            gunicorn, base = start_gunicorn(workdir, url, localstripe, args.gunicorn_workers, mail_dir)
            cart_id, body = paid_event(localstripe, pairs[-1])
            event_id = json.loads(body)["id"]
            seconds, statuses = storm_http(f"{base}/api/v1/webhooks/stripe/", body, args.deliveries, args.storm_threads)
            outcome = storm_outcome(cart_id, event_id)
            emails = len(list(mail_dir.iterdir()))
            print(f"   HTTP to gunicorn ({args.gunicorn_workers} workers x 4 threads), {args.storm_threads} senders: {seconds:.2f} s, "
                  f"{args.deliveries / seconds:.0f} deliveries/s, answers {dict(sorted({s: statuses.count(s) for s in set(statuses)}.items()))}")
            ok = outcome["orders"] == 1 and outcome["sale_movements"] == 2 and emails == 1 and outcome["handled"] == 1
            print(f"   outcome: {outcome['orders']} order, {outcome['sale_movements']} sale movements (2 lines), {emails} email, "
                  f"event stored once with {outcome['deliveries_stored']} deliveries, handled {outcome['handled']}x -> "
                  f"{'EXACTLY ONCE' if ok else 'WRONG'}")
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        localstripe_process.terminate()
        localstripe_process.wait(timeout=10)
        if not args.keep_db:
            common.drop_database(DB_NAME)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
