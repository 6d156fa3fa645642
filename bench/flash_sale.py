"""Flash sale across several web hosts: 500 shoppers race through the HTTP API for one SKU
with 100 units, to paid orders, through a real load balancer in front of three gunicorn
instances; then the same again with one instance SIGKILLed mid-sale.

What runs (all on this machine, each on a free port, stopped at the end):
- HAProxy (Debian's package; `make bench` installs it) balancing three gunicorn instances,
  each started with deploy/gunicorn.conf.py as production does (DEBUG off, JSON logs, its
  own Prometheus folder), health-checking /healthz and appending X-Forwarded-For;
- one PostgreSQL database (`bench_flash_sale`, on the server of DATABASE_URL or the private
  pgserver), a private redis-server (cache, rate limits, sessions, broker), a Celery worker;
- localstripe, its signed webhooks sent to the balancer (so a payment whose web process died
  is completed by whichever instance the webhook reaches).

Each shopper is its own client: its connections come from its own loopback address
(127.1.x.y), which HAProxy appends to X-Forwarded-For, and the shop runs with
TRUSTED_PROXY_COUNT=1, so the per-client limits apply per shopper, at their defaults.
A shopper: create a cart, add one unit, start checkout, give email, address and shipping
method, make a card PaymentMethod at localstripe (what Stripe.js does), pay with it (the
server confirms the PaymentIntent), then read the cart back to see its order.

Printed per run: checkouts/s, p50/p95/p99 of each step, refusals by status and code, and
the checks: no oversell (units sold <= 100, on hand never below 0), one order per paid cart,
every succeeded PaymentIntent at localstripe has its order, the ledger equals on hand
(check_stock), and after the reservations' time and one sweep (`manage.py
expire_reservations`) no unit is still reserved.

Usage: .venv/bin/python bench/flash_sale.py [--shoppers 500] [--units 100] [--instances 3]
       [--workers 2] [--threads 4] [--kill-after 0.4] [--no-kill-run] [--keep-db]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import common

DB_NAME = "bench_flash_sale"
WEBHOOK_SECRET = f"whsec_bench_{secrets.token_hex(8)}"
STRIPE_KEY = "sk_test_emulated"
ADDRESS = {"name": "Flash Shopper", "line1": "1 Sale Street", "city": "Springfield", "postal_code": "62701", "region": "IL", "country": "US"}
STEPS = ("cart", "add", "checkout", "details", "card", "pay", "confirm")
VENV_BIN = common.ROOT / ".venv" / "bin"


def find_program(name: str) -> str:
    for folder in ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"):
        if Path(folder, name).exists():
            return str(Path(folder, name))
    found = shutil.which(name)
    if not found:
        sys.exit(f"{name} is not installed: `make bench` installs it (apt-get install haproxy redis-server)")
    return found


# --- the stack --------------------------------------------------------------------------


@dataclass
class Stack:
    workdir: Path
    database_url: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd or self.workdir, start_new_session=True)
        self.processes[name] = process
        return process

    def stop_all(self) -> None:
        for name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def kill(self, name: str) -> None:
        """SIGKILL the instance's whole process group: master and workers die at once."""
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait()

    @property
    def balancer(self) -> str:
        return f"http://127.0.0.1:{self.ports['haproxy']}"

    @property
    def localstripe(self) -> str:
        return f"http://127.0.0.1:{self.ports['localstripe']}"

    def shop_env(self, instance: str = "") -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "shop.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "DEBUG": "0",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "TRUSTED_PROXY_COUNT": "1",
            "STATIC_ROOT": str(self.workdir / "static"),
            "STRIPE_API_BASE": self.localstripe,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "EMAIL_URL": f"filemail:///{self.workdir / 'mail'}",
            "STAFF_ALERT_EMAILS": "staff@example.com",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "WARNING",
            "CONN_MAX_AGE": "60",
            "RESERVATION_TTL_SECONDS": str(ARGS.ttl),
            "RESERVATION_PAYMENT_TTL_SECONDS": str(ARGS.payment_ttl),
            "CELERY_FILESYSTEM_BROKER_DIR": str(self.workdir / "unused-broker"),
        }
        if instance:
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.workdir / f"prometheus-{instance}")
        return env


SECRET_KEY = secrets.token_urlsafe(50)
SAMPLES: dict[str, str] = {}  # a sample body of each non-JSON answer
SERVER_BEFORE: dict[str, tuple[float, float]] = {}
ARGS: argparse.Namespace


def start_stack(stack: Stack) -> None:
    workdir = stack.workdir
    (workdir / "mail").mkdir()
    for name in ("redis", "localstripe", "haproxy", *(f"web{i}" for i in range(1, ARGS.instances + 1))):
        stack.ports[name] = common.free_port()

    stack.start("redis", [find_program("redis-server"), "--port", str(stack.ports["redis"]), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", str(workdir)])
    stack.start("localstripe", [str(VENV_BIN / "localstripe"), "--port", str(stack.ports["localstripe"]), "--from-scratch"])
    common.wait_http(f"{stack.localstripe}/js.stripe.com/v3/", process=stack.processes["localstripe"])
    # localstripe signs its webhooks and sends them to the balancer, as Stripe would.
    body = urllib.parse.urlencode({"url": f"{stack.balancer}/api/v1/webhooks/stripe/", "secret": WEBHOOK_SECRET}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{stack.localstripe}/_config/webhooks/shop", data=body, method="POST"), timeout=10).read()

    subprocess.run([str(VENV_BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"],
                   cwd=common.ROOT, env=stack.shop_env(), check=True)
    for i in range(1, ARGS.instances + 1):
        name = f"web{i}"
        env = {**stack.shop_env(name), "GUNICORN_BIND": f"127.0.0.1:{stack.ports[name]}", "WEB_CONCURRENCY": str(ARGS.workers),
               "GUNICORN_WORKER_CLASS": "gthread" if ARGS.threads > 1 else "sync", "GUNICORN_THREADS": str(ARGS.threads)}
        stack.start(name, [str(VENV_BIN / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "shop.wsgi"], env=env, cwd=common.ROOT)
    for i in range(1, ARGS.instances + 1):
        common.wait_http(f"http://127.0.0.1:{stack.ports[f'web{i}']}/healthz", process=stack.processes[f"web{i}"])
    stack.start("worker", [str(VENV_BIN / "celery"), "-A", "shop", "worker", "--loglevel=WARNING", "--concurrency=2"],
                env=stack.shop_env(), cwd=common.ROOT)

    config = workdir / "haproxy.cfg"
    servers = "\n".join(
        f"    server web{i} 127.0.0.1:{stack.ports[f'web{i}']} check" for i in range(1, ARGS.instances + 1)
    )
    config.write_text(f"""global
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout queue 120s
    timeout check 10s
    option forwardfor
    option http-server-close
    retries 2
    option redispatch
frontend shop
    bind 127.0.0.1:{stack.ports['haproxy']}
    default_backend web
backend web
    balance leastconn
    option httpchk GET /healthz
    http-check expect status 200
    # A busy instance answers its health check late but answers; a killed one refuses the
    # connection at once, and "observe layer4" takes it out on the first refused request.
    default-server inter 1s fall 3 rise 2 observe layer4 error-limit 1 on-error mark-down maxconn {ARGS.workers * ARGS.threads * 2}
{servers}
""")
    haproxy = find_program("haproxy")
    subprocess.run([haproxy, "-c", "-q", "-f", str(config)], check=True)
    stack.start("haproxy", [haproxy, "-db", "-f", str(config)])
    common.wait_http(f"{stack.balancer}/healthz", process=stack.processes["haproxy"])


def prepare_database(database_url: str) -> None:
    common.setup_django(database_url)
    common.migrate()
    from checkout.imports import import_catalog

    import_catalog({
        "products": [{"slug": "flash-sneaker", "name": "Flash sneaker", "variants": [
            {"sku": sku, "price_usd": "49.00", "stock": ARGS.units} for sku in ("FLASH-1", "FLASH-2")
        ]}],
        "shipping_zones": [{"name": "Everywhere", "countries": "*", "methods": [
            {"code": "standard", "name": "Standard", "price_usd": "5.00", "min_days": 2, "max_days": 5}
        ]}],
    })
    from django.db import connections

    connections.close_all()


# --- the shoppers -------------------------------------------------------------------------


@dataclass
class Shopper:
    number: int
    cart_id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    refusal: str | None = None  # "409 insufficient_stock" ...
    failure: str | None = None  # a transport error or 5xx at some step
    paid: bool = False
    interrupted_payment: bool = False
    order: str | None = None
    paid_at: float | None = None  # perf_counter when its order was seen

    @property
    def address(self) -> str:
        return f"127.1.{self.number // 250}.{self.number % 250 + 1}"


class Refused(Exception):
    pass


async def shopper_run(shopper: Shopper, base: str, localstripe: str, sku: str, start: asyncio.Event) -> None:
    import aiohttp

    connector = aiohttp.TCPConnector(local_addr=(shopper.address, 0), limit=2, force_close=True)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def call(step: str, method: str, path: str, body: dict | None = None, *, ok=(200, 201)) -> dict:
            started = time.perf_counter()
            try:
                async with http.request(method, base + path, json=body) as response:
                    text = await response.text()
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                shopper.failure = f"{step}: {type(exc).__name__}"
                raise Refused() from None
            finally:
                shopper.timings[step] = time.perf_counter() - started
            try:
                payload = json.loads(text) if text else {}
            except json.JSONDecodeError:
                # Not the shop's JSON: the balancer's own answer (503: no instance up).
                SAMPLES.setdefault(f"{step} {status}", text[:300])
                payload = {"error": {"code": "not JSON"}}
            if status in ok:
                return payload
            code = (payload or {}).get("error", {}).get("code", "") if isinstance(payload, dict) else ""
            if status >= 500:
                shopper.failure = f"{step}: {status} {code}".strip()
            else:
                shopper.refusal = f"{status} {code}".strip()
            raise Refused()

        await start.wait()
        try:
            cart = await call("cart", "POST", "/api/v1/carts/", {"currency": "USD"}, ok=(201,))
            shopper.cart_id = cart["id"]
            await call("add", "POST", f"/api/v1/carts/{shopper.cart_id}/lines/", {"sku": sku, "quantity": 1}, ok=(201,))
            await call("checkout", "POST", f"/api/v1/carts/{shopper.cart_id}/checkout/")
            await call("details", "PATCH", f"/api/v1/carts/{shopper.cart_id}/checkout/", {
                "email": f"shopper{shopper.number}@example.com", "shipping_address": ADDRESS, "shipping_method": "standard",
            })
            # The card, made at Stripe by Stripe.js in the browser.
            started = time.perf_counter()
            async with http.post(f"{localstripe}/v1/payment_methods", headers={"Authorization": f"Bearer {STRIPE_KEY}"},
                                 data={"type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12",
                                       "card[exp_year]": "2034", "card[cvc]": "123"}) as response:
                payment_method = (await response.json())["id"]
            shopper.timings["card"] = time.perf_counter() - started
            paid: dict | None = None
            for attempt in range(3):
                try:
                    paid = await call("pay", "POST", f"/api/v1/carts/{shopper.cart_id}/payment/", {"payment_method": payment_method})
                    break
                except Refused:
                    if shopper.failure is None:
                        raise  # refused by the shop (402, 409...)
                    if shopper.failure == "pay: 503 not JSON" and attempt < 2:
                        shopper.failure = None  # the balancer had no instance: nothing was sent; pay again
                        await asyncio.sleep(1.0)
                        continue
                    break
            if paid is None:
                # The web process died while paying: the card may be charged. Like the
                # confirmation page, look at the cart until its order shows (the webhook
                # completes it) or give up.
                shopper.interrupted_payment = True
                shopper.failure = None
                deadline = time.monotonic() + ARGS.webhook_wait
                while time.monotonic() < deadline:
                    await asyncio.sleep(1.0)
                    try:
                        async with http.get(f"{base}/api/v1/carts/{shopper.cart_id}/") as response:
                            cart = await response.json(content_type=None)
                    except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError):
                        continue
                    if cart.get("order"):
                        shopper.paid, shopper.order, shopper.paid_at = True, cart["order"]["number"], time.perf_counter()
                        return
                shopper.failure = "pay: interrupted, no order seen"
                return
            shopper.paid = paid.get("status") == "succeeded"
            shopper.paid_at = time.perf_counter()
            cart = await call("confirm", "GET", f"/api/v1/carts/{shopper.cart_id}/")
            shopper.order = (cart.get("order") or {}).get("number")
        except Refused:
            return


async def run_sale(stack: Stack, sku: str, *, kill: str | None) -> tuple[list[Shopper], float, float | None]:
    global SERVER_BEFORE
    SERVER_BEFORE = server_times(stack)
    shoppers = [Shopper(i) for i in range(ARGS.shoppers)]
    start = asyncio.Event()
    tasks = [asyncio.create_task(shopper_run(s, stack.balancer, stack.localstripe, sku, start)) for s in shoppers]
    await asyncio.sleep(0.5)  # every shopper waiting at the door
    started = time.perf_counter()
    start.set()
    killed_at = None
    if kill:
        target = max(1, int(ARGS.units * ARGS.kill_after))
        while sum(s.paid for s in shoppers) < target and not all(t.done() for t in tasks):
            await asyncio.sleep(0.05)
        killed_at = time.perf_counter() - started
        stack.kill(kill)
    await asyncio.gather(*tasks)
    # Checkouts/s over the time the units took to sell (the last order seen), not the refusals' tail.
    last_paid = max((s.paid_at for s in shoppers if s.paid_at), default=time.perf_counter())
    return shoppers, max(last_paid - started, 1e-9), killed_at


def server_times(stack: Stack) -> dict[str, tuple[float, float]]:
    """(requests, seconds) per API route as the instances measured them (their Prometheus
    files, read from disk: a killed instance's count too), to tell time in the shop from
    time queued at the balancer."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for i in range(1, ARGS.instances + 1):
        folder = stack.workdir / f"prometheus-web{i}"
        if not folder.is_dir():
            continue
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(folder))
        for metric in registry.collect():
            if metric.name != "shop_http_request_duration_seconds":
                continue
            for sample in metric.samples:
                route = sample.labels.get("route", "")
                if sample.name.endswith("_count"):
                    totals[route][0] += sample.value
                elif sample.name.endswith("_sum"):
                    totals[route][1] += sample.value
    return {route: (count, seconds) for route, (count, seconds) in totals.items()}


# --- checks ---------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def sweep(stack: Stack) -> str:
    done = subprocess.run([str(VENV_BIN / "python"), "manage.py", "expire_reservations"], cwd=common.ROOT,
                          env=stack.shop_env(), capture_output=True, text=True, check=True)
    return done.stdout.strip()


def verify(stack: Stack, sku: str, shoppers: list[Shopper]) -> tuple[list[str], bool]:
    """The checks, after waiting out the reservations and one sweep. Lines to print, and ok."""
    import stripe
    from django.db import connections
    from django.db.models import Count, Sum

    from catalog.models import Variant
    from inventory.models import Reservation, Stock, StockMovement
    from inventory.services import check_stock
    from orders.models import Order, OrderLine
    from payments.models import Payment

    connections.close_all()
    variant = Variant.objects.get(sku=sku)
    carts = {s.cart_id for s in shoppers if s.cart_id}
    lines, ok = [], True

    def check(label: str, passed: bool, detail: str) -> None:
        nonlocal ok
        ok = ok and passed
        lines.append(f"   {'ok  ' if passed else 'FAIL'} {label}: {detail}")

    # Every succeeded PaymentIntent of this sale (localstripe's own list) has its order:
    # wait for the webhooks of payments whose web process died.
    stripe.api_base, stripe.api_key = stack.localstripe, STRIPE_KEY
    deadline = time.monotonic() + ARGS.webhook_wait
    while True:
        intents = [pi.to_dict() for pi in stripe.PaymentIntent.list(limit=100).auto_paging_iter()]
        intents = [pi for pi in intents if pi["status"] == "succeeded" and (pi.get("metadata") or {}).get("cart_id") in carts]
        paid_carts = {pi["metadata"]["cart_id"] for pi in intents}
        ordered = set(str(c) for c in Order.objects.filter(cart_id__in=paid_carts).values_list("cart_id", flat=True))
        if paid_carts <= ordered or time.monotonic() > deadline:
            break
        time.sleep(1)
    orders = Order.objects.filter(lines__variant=variant).distinct()
    per_cart = orders.values("cart_id").annotate(n=Count("id")).filter(n__gt=1).count()
    sold = OrderLine.objects.filter(order__in=orders, variant=variant).aggregate(units=Sum("quantity"))["units"] or 0
    stock = Stock.objects.get(variant=variant)
    ledger = StockMovement.objects.filter(variant=variant).aggregate(total=Sum("delta"))["total"] or 0
    flagged = orders.filter(status="needs_attention").count()
    check("no oversell", sold <= ARGS.units and stock.on_hand >= 0 and stock.on_hand == ARGS.units - sold,
          f"{sold} units sold of {ARGS.units}, {stock.on_hand} on hand")
    check("one order per paid cart", per_cart == 0 and len(paid_carts) == len(intents),
          f"{orders.count()} orders, {len(intents)} succeeded PaymentIntents for {len(paid_carts)} carts, {per_cart} carts with 2+ orders")
    missing = paid_carts - ordered
    check("every paid card has its order", not missing, f"{len(paid_carts) - len(missing)} of {len(paid_carts)}"
          + (f" ({flagged} flagged and refused stock, refunded)" if flagged else ""))
    refunded_without_order = Payment.objects.filter(cart_id__in=carts, order__isnull=True, amount_refunded__gt=0).count()
    if refunded_without_order:
        lines.append(f"   note {refunded_without_order} payment(s) refunded without an order")
    check("ledger == on hand", ledger == stock.on_hand, f"ledger sum {ledger}, on hand {stock.on_hand}")

    # Unpaid reservations: wait until the last one's time has passed, then one sweep.
    last = Reservation.objects.filter(variant=variant, status="active").order_by("-expires_at").values_list("expires_at", flat=True).first()
    if last is not None:
        from django.utils import timezone

        wait = (last - timezone.now()).total_seconds() + 1
        if wait > 0:
            print(f"   waiting {wait:.0f} s for the last unpaid reservation to run out...", flush=True)
            time.sleep(wait)
    swept = sweep(stack)
    stock.refresh_from_db()
    active = Reservation.objects.filter(variant=variant, status="active").count()
    check("unpaid reservations released", active == 0 and stock.reserved == 0,
          f"sweep: {swept!r}; {active} active reservations, {stock.reserved} units reserved")
    report = check_stock()
    check("check_stock", not report.found, "no drift" if not report.found else "; ".join(report.lines()))
    connections.close_all()
    return lines, ok


def report(title: str, shoppers: list[Shopper], seconds: float, killed_at: float | None, kill: str | None, stack: Stack) -> None:
    paid = [s for s in shoppers if s.paid]
    print(f"\n{title}")
    print(f"   {len(shoppers)} shoppers, {len(paid)} paid orders in {seconds:.1f} s: {len(paid) / seconds:.1f} checkouts/s"
          + (f"; {kill} SIGKILLed at {killed_at:.1f} s" if kill else ""))
    rows = []
    for step in STEPS:
        values = [s.timings[step] for s in shoppers if step in s.timings]
        if values:
            rows.append([step, str(len(values)), *(f"{percentile(values, q) * 1000:.0f}" for q in (0.5, 0.95, 0.99))])
    common.print_table(["step", "requests", "p50 ms", "p95 ms", "p99 ms"], rows)
    after = server_times(stack)
    inside = []
    for route in sorted(after):
        count = after[route][0] - SERVER_BEFORE.get(route, (0, 0))[0]
        spent = after[route][1] - SERVER_BEFORE.get(route, (0, 0))[1]
        if count and route.startswith("api:"):
            inside.append(f"{route.removeprefix('api:')} {spent / count * 1000:.0f}")
    print(f"   mean time inside the shop per request, ms (the rest is queueing at the balancer): {', '.join(inside)}")
    refusals = Counter(s.refusal for s in shoppers if s.refusal)
    failures = Counter(s.failure for s in shoppers if s.failure)
    print(f"   refusals by code: {dict(refusals.most_common()) or 'none'}")
    print(f"   failures (transport or 5xx): {dict(failures.most_common()) or 'none'}")
    for key, sample in sorted(SAMPLES.items()):
        print(f"   non-JSON answer at {key}: {' '.join(sample.split())[:160]}")
    SAMPLES.clear()
    interrupted = [s for s in shoppers if s.interrupted_payment]
    if interrupted:
        print(f"   payments interrupted by the kill: {len(interrupted)}, of which completed by the webhook: "
              f"{sum(s.paid for s in interrupted)}")
    by_step = defaultdict(int)
    for s in shoppers:
        if s.refusal or s.failure:
            by_step[max((k for k in s.timings), key=STEPS.index) if s.timings else "none"] += 1
    if by_step:
        print(f"   stopped at step: {dict(by_step)}")


def loopback_aliases_work() -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.1.0.1", 0))
            return True
        except OSError:
            return False


def main() -> int:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=500)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")
    parser.add_argument("--ttl", type=int, default=45, help="RESERVATION_TTL_SECONDS of the sale")
    parser.add_argument("--payment-ttl", type=int, default=60, help="RESERVATION_PAYMENT_TTL_SECONDS of the sale")
    parser.add_argument("--kill-after", type=float, default=0.4, help="kill an instance once this share of the units is paid")
    parser.add_argument("--webhook-wait", type=float, default=45.0, help="seconds to wait for webhooks to complete orders")
    parser.add_argument("--kill-run", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--keep-db", action="store_true")
    ARGS = parser.parse_args()
    if not loopback_aliases_work():
        sys.exit("cannot bind 127.1.0.1: each shopper needs its own loopback address")

    common.exit_cleanly_on_sigterm()
    print(f"flash-sale benchmark: {common.machine_load()}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-flash-"))
    database_url = common.recreate_database(DB_NAME)
    stack = Stack(workdir, database_url)
    all_ok = True
    try:
        prepare_database(database_url)
        start_stack(stack)
        print(f"   {ARGS.instances} gunicorn instances x {ARGS.workers} workers x {ARGS.threads} threads behind HAProxy "
              f"at {stack.balancer}; redis, a Celery worker, localstripe; {ARGS.shoppers} shoppers, {ARGS.units} units, "
              f"reservations {ARGS.ttl} s ({ARGS.payment_ttl} s once paying)")
        runs = [("Run 1: all instances up", "FLASH-1", None)]
        if ARGS.kill_run:
            runs.append((f"Run 2: web{ARGS.instances} SIGKILLed mid-sale", "FLASH-2", f"web{ARGS.instances}"))
        for title, sku, kill in runs:
            shoppers, seconds, killed_at = asyncio.run(run_sale(stack, sku, kill=kill))
            report(title, shoppers, seconds, killed_at, kill, stack)
            lines, ok = verify(stack, sku, shoppers)
            all_ok = all_ok and ok
            print("\n".join(lines))
        print(f"\n{'ALL CHECKS PASS' if all_ok else 'SOME CHECKS FAIL'} (logs: {workdir} while running)")
    finally:
        stack.stop_all()
        if not ARGS.keep_db:
            common.drop_database(DB_NAME)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
