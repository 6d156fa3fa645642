"""Hot-SKU benchmark: how many reserve-and-release cycles per second the stock service
sustains on ONE contended stock row, against the bare SQL floor on the same database.

Service path (default `--path checkout`): each worker owns a cart with one line of the
hot SKU and loops `checkout.services.start_checkout` then `checkout.services.cancel_checkout`.
That is what a shopper's checkout really runs (cart lock, line read, reservation, rate,
cart save), so its figure is the one that matters. `--path inventory` narrows it to
`inventory.services.reserve` / `release` inside `transaction.atomic` with the cart locked,
to tell the inventory code's cost from the cart's.

Bare SQL (pgbench, custom scripts, prepared statements, same client counts and time):
  cycle        — the same work as the service loop: one autocommit transaction that
                 UPDATEs the stock row guarded by availability and INSERTs the reservation,
                 then one that closes the reservation and gives the unit back. This is the
                 like-for-like baseline of the ratio.
  reserve-only — the reserve transaction alone, each for a fresh holder id from a sequence
                 (the schema allows one active reservation per holder and variant, and the
                 units are never given back, so on_hand is set far above what a run takes).

Python threads share the GIL; the service loop also runs with one process (and one
connection) per worker so the two can be compared (`--no-processes` skips that).

Lock hold per step: reserve, extend and release, each timed from the statement that locks
the hot stock row to the end of its transaction's COMMIT (median and p95 over
`--hold-cycles` cycles, one worker), with the statements sent meanwhile, next to the bare
SQL of each step timed the same way, interleaved with them: sent as the service sends its
stock statement (BEGIN, the statement, COMMIT: the like-for-like figure the target ratio
is of), and in autocommit (statement and commit in one round trip, shown beside it).

HTTP (`--no-http` skips it): gunicorn (`--gunicorn-workers` 4, sync workers as
docs/operations.md starts them, rate limits raised for the load) serves the API; 16
clients (`--http-clients`), each with its own one-line cart of the hot SKU, loop checkout
start (POST .../checkout/) then cancel (DELETE .../checkout/), and in the same run, in
alternating rounds, read their carts (GET /api/v1/carts/<id>/). The ratio of start/cancel
requests per second to cart reads per second says what a reserve or release costs next to
a read of the same cart.

Service and bare SQL runs alternate in `--rounds` rounds per client count (each run
`--seconds` long): the figures are over all rounds, the ratio's spread round by round is
printed beside it.

Usage: .venv/bin/python bench/hot_sku.py [--seconds 5] [--rounds 3] [--clients 1,8,32] [--no-processes]
       [--path checkout|inventory] [--no-reserve-only] [--hold-cycles 300]
       [--http/--no-http] [--http-seconds 20] [--http-clients 16] [--gunicorn-workers 4]
       [--gunicorn-threads 1] [--keep-db]
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import common

DB_NAME = "bench_hot_sku"
HOT_SKU = "BENCH-HOT-SKU"
# Far above anything a run reserves (the reserve-only run never gives units back).
ON_HAND = 100_000_000
TARGET_RATIO = 0.3  # issue 13: the service path at 8 worker processes, of the bare SQL cycle
TARGET_CLIENTS = 8
TARGET_HOLD_MS = 1.0  # lock hold per reserve and per release, median
TARGET_HOLD_RATIO = 1.5  # ... and at most this times the bare SQL's
TARGET_HTTP_RATIO = 0.75  # start/cancel requests per second over cart reads per second
HOST = "127.0.0.1"
# Bare-SQL carts get predictable ids so a pgbench script can name them from :client_id.
BARE_CART_BASE = 1
POOL_CART_BASE = 10_000_000
# Set when the run is interrupted: worker threads stop at their next cycle.
STOP = threading.Event()

RESERVE_SQL = """\
WITH reserved AS (
    UPDATE inventory_stock SET reserved = reserved + 1, updated_at = now()
     WHERE variant_id = :variant AND on_hand - reserved >= 1
 RETURNING variant_id
)
INSERT INTO inventory_reservation (holder_id, variant_id, quantity, status, expires_at, created_at)
SELECT {cart}, variant_id, 1, 'active', now() + interval '5 minutes', now() FROM reserved;
"""
RELEASE_SQL = """\
WITH closed AS (
    UPDATE inventory_reservation SET status = 'released', closed_at = now()
     WHERE holder_id = {cart} AND variant_id = :variant AND status = 'active'
 RETURNING quantity
)
UPDATE inventory_stock SET reserved = reserved - (SELECT sum(quantity) FROM closed), updated_at = now()
 WHERE variant_id = :variant AND EXISTS (SELECT 1 FROM closed);
"""
CLIENT_CART = f"lpad(to_hex(:client_id + {BARE_CART_BASE}), 32, '0')::uuid"
POOL_CART = "lpad(to_hex(nextval('bench_pool_cart')), 32, '0')::uuid"


def _one_line(sql: str) -> str:
    # pgbench (before 17) reads one SQL command per line unless it ends in a semicolon
    # spread over lines; keep each command on one line to be safe with every version.
    return " ".join(sql.split()) + "\n"


CYCLE_SCRIPT = _one_line(RESERVE_SQL.format(cart=CLIENT_CART)) + _one_line(RELEASE_SQL.format(cart=CLIENT_CART))
RESERVE_ONLY_SCRIPT = _one_line(RESERVE_SQL.format(cart=POOL_CART))

# The bare SQL of each step for the lock-hold comparison (psycopg, autocommit): the same
# statements with the variant and cart as parameters; extend moves the expiry under the
# row's lock.
EXTEND_SQL = """\
WITH locked AS (SELECT variant_id FROM inventory_stock WHERE variant_id = :variant FOR UPDATE)
UPDATE inventory_reservation SET expires_at = now() + interval '10 minutes'
 WHERE holder_id = {cart} AND status = 'active' AND variant_id IN (SELECT variant_id FROM locked);
"""
BARE_STEPS = {
    step: " ".join(sql.format(cart="%(cart)s").replace(":variant", "%(variant)s").split())
    for step, sql in (("reserve", RESERVE_SQL), ("extend", EXTEND_SQL), ("release", RELEASE_SQL))
}
STEPS = ("reserve", "extend", "release")
# The statement that takes the hot row's lock: one of inventory's SQL functions (migration
# 0004), or a plain SELECT ... FOR UPDATE of the stock row.
LOCKING = re.compile(r"\binventory_(reserve|extend|release)\(|inventory_stock.*\bFOR UPDATE\b", re.S)


@dataclass
class Run:
    cycles: int
    errors: int
    seconds: float
    client_cpu: float = 0.0  # CPU seconds of the client side (Python workers or pgbench)
    lock_wait: float = 0.0  # share of sampled busy sessions that were waiting on a lock
    machine_busy: float = 0.0  # share of the machine's CPU time in use meanwhile (all processes)

    @property
    def rate(self) -> float:
        return self.cycles / self.seconds if self.seconds else 0.0

    def __add__(self, other: "Run") -> "Run":
        """Two runs as one: their cycles over their time; lock waits and machine busy weighted by time."""
        seconds = self.seconds + other.seconds
        def weighted(a: float, b: float) -> float:
            return (a * self.seconds + b * other.seconds) / seconds if seconds else 0.0

        return Run(self.cycles + other.cycles, self.errors + other.errors, seconds, self.client_cpu + other.client_cpu,
                   weighted(self.lock_wait, other.lock_wait), weighted(self.machine_busy, other.machine_busy))

    @property
    def cpu_ms_per_cycle(self) -> float:
        return 1000 * self.client_cpu / self.cycles if self.cycles else 0.0


class MachineBusy:
    """The share of all cores' time spent busy (not idle or waiting for I/O) while the
    block runs, from /proc/stat: near 100% the CPU, not the hot row, is the limit."""

    @staticmethod
    def _ticks() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle, iowait
        return sum(fields[:8]) - idle, sum(fields[:8])

    def __enter__(self) -> "MachineBusy":
        self.share = 0.0
        self._start = self._ticks()
        return self

    def __exit__(self, *exc) -> None:
        busy, total = (end - start for end, start in zip(self._ticks(), self._start))
        self.share = busy / total if total else 0.0


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class LockWaitSampler:
    """Samples pg_stat_activity of the benchmark database every few ms from its own
    connection: the share of sessions inside a transaction that are waiting on a lock
    tells whether the hot row (the database) or the client is the limit."""

    QUERY = (
        "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),"
        "       count(*) FILTER (WHERE state <> 'idle')"
        "  FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    def __init__(self, url: str) -> None:
        self.url = common.libpq_url(url)
        self.waiting = self.busy = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(0.01):
                waiting, busy = conn.execute(self.QUERY).fetchone()
                self.waiting += waiting
                self.busy += busy

    def __enter__(self) -> "LockWaitSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def share(self) -> float:
        return self.waiting / self.busy if self.busy else 0.0


# --- the service loop --------------------------------------------------------------------

def _cycle_steps(path: str, variant_id: int):
    """The cycle as its transactions (reserve, release), each a callable taking the cart id."""
    steps = _step_functions(path, variant_id)
    return [steps["reserve"], steps["release"]]


def _step_functions(path: str, variant_id: int) -> dict:
    """Reserve, extend and release as the service runs them, each a callable taking the
    cart id: with the checkout path, starting checkout (reserve), starting it again while
    in checkout (which extends), cancelling it (release)."""
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from cart import services as cart_services
    from checkout import services as checkout_services
    from inventory import services as inventory

    if path == "checkout":
        return {
            "reserve": lambda cart_id: checkout_services.start_checkout(cart_id=cart_id),
            "extend": lambda cart_id: checkout_services.start_checkout(cart_id=cart_id),
            "release": lambda cart_id: checkout_services.cancel_checkout(cart_id=cart_id),
        }

    def reserve(cart_id: UUID) -> None:
        with transaction.atomic():
            cart_services.lock_cart(cart_id)
            inventory.reserve(holder_id=cart_id, items={variant_id: 1}, expires_at=timezone.now() + settings.RESERVATION_TTL)

    def extend(cart_id: UUID) -> None:
        with transaction.atomic():
            cart_services.lock_cart(cart_id)
            inventory.extend(holder_id=cart_id, expires_at=timezone.now() + settings.RESERVATION_TTL)

    def release(cart_id: UUID) -> None:
        with transaction.atomic():
            cart_services.lock_cart(cart_id)
            inventory.release(holder_id=cart_id)

    return {"reserve": reserve, "extend": extend, "release": release}


def _cycle_function(path: str, variant_id: int):
    steps = _cycle_steps(path, variant_id)

    def cycle(cart_id: UUID) -> None:
        for step in steps:
            step(cart_id)

    return cycle


def _worker(cart_id: UUID, variant_id: int, path: str, seconds: float, barrier) -> tuple[int, int, float, float]:
    """Warm up (connection, imports), wait for everyone, then loop until the deadline.
    Returns (cycles, errors, start, end) on the monotonic clock, shared by all processes."""
    from django.db import connection

    cycle = _cycle_function(path, variant_id)
    cycle(cart_id)
    barrier.wait()
    start = time.monotonic()
    deadline = start + seconds
    cycles = errors = 0
    while time.monotonic() < deadline and not STOP.is_set():
        try:
            cycle(cart_id)
            cycles += 1
        except Exception as exc:  # counted and shown, never hidden
            errors += 1
            if errors == 1:
                print(f"  worker error: {exc!r}", file=sys.stderr)
    end = time.monotonic()
    connection.close()
    return cycles, errors, start, end


def _combine(results: list[tuple[int, int, float, float]]) -> Run:
    start = min(r[2] for r in results)
    end = max(r[3] for r in results)
    return Run(sum(r[0] for r in results), sum(r[1] for r in results), end - start)


def run_threads(cart_ids: list[UUID], variant_id: int, path: str, seconds: float) -> Run:
    barrier = threading.Barrier(len(cart_ids))
    results: list = [None] * len(cart_ids)

    def target(i: int) -> None:
        results[i] = _worker(cart_ids[i], variant_id, path, seconds, barrier)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(len(cart_ids))]
    cpu = _cpu_seconds(resource.RUSAGE_SELF)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run = _combine(results)
    run.client_cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu
    return run


def _process_main(cart_id, variant_id, path, seconds, barrier, queue) -> None:
    queue.put(_worker(cart_id, variant_id, path, seconds, barrier))


def run_processes(cart_ids: list[UUID], variant_id: int, path: str, seconds: float) -> Run:
    from django.db import connections

    connections.close_all()  # forked children open their own connections
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(cart_ids))
    queue = ctx.Queue()
    procs = [ctx.Process(target=_process_main, args=(c, variant_id, path, seconds, barrier, queue)) for c in cart_ids]
    cpu = _cpu_seconds(resource.RUSAGE_CHILDREN)
    try:
        for p in procs:
            p.start()
        results = [queue.get(timeout=seconds + 120) for _ in procs]
    except BaseException:  # interrupted: the run is over for the workers too
        for p in procs:
            if p.pid is not None and p.is_alive():
                p.terminate()
        raise
    finally:
        for p in procs:
            if p.pid is not None:
                p.join(timeout=30)
    run = _combine(results)
    run.client_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
    return run


# --- the bare SQL loop ---------------------------------------------------------------------

def run_pgbench(pgbench: str, url: str, script: str, clients: int, seconds: float, variant_id: int, workdir: Path) -> Run:
    script_file = workdir / f"script-{abs(hash(script))}.sql"
    script_file.write_text(script)
    cmd = [
        pgbench, "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 4)),
        "-T", str(max(1, round(seconds))), "-f", str(script_file), "-D", f"variant={variant_id}",
        common.libpq_url(url),
    ]
    cpu = _cpu_seconds(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    client_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    processed = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if done.returncode != 0 or not tps:
        # An aborted client (e.g. a constraint error) makes the figure meaningless: say so.
        print(f"  pgbench exited {done.returncode}:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}", file=sys.stderr)
        return Run(0, 1, 1.0)
    count = int(processed.group(1)) if processed else 0
    rate = float(tps.group(1))
    return Run(count, int(failed.group(1)) if failed else 0, count / rate if rate else 0.0, client_cpu)


# --- set-up and checks ----------------------------------------------------------------------

def seed(workers: int) -> tuple[int, list[UUID], list[UUID]]:
    """The hot SKU with plenty of stock, a one-line cart per service worker and a bare cart
    per pgbench client. Returns (variant id, service cart ids, bare cart ids)."""
    from cart import services as cart_services
    from cart.models import Cart
    from catalog.models import Variant
    from checkout.imports import import_catalog

    import_catalog({"products": [{"slug": "bench-hot", "name": "Hot item", "variants": [
        {"sku": HOT_SKU, "price_usd": "10.00", "stock": ON_HAND, "low_stock_threshold": 0}]}]})
    variant_id = Variant.objects.get(sku=HOT_SKU).pk
    service_carts = []
    for _ in range(workers):
        cart = cart_services.create_cart()
        cart_services.add_line(cart_id=cart.pk, sku=HOT_SKU, quantity=1)
        service_carts.append(cart.pk)
    bare_carts = [UUID(int=BARE_CART_BASE + i) for i in range(workers)]
    Cart.objects.bulk_create([Cart(id=cart_id) for cart_id in bare_carts])
    return variant_id, service_carts, bare_carts


def make_cart_pool(size: int) -> None:
    """A sequence of `size` holder ids from POOL_CART_BASE for the reserve-only script (a
    reservation's holder is an opaque id: no cart rows are needed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS bench_pool_cart START {POOL_CART_BASE} MAXVALUE {POOL_CART_BASE + size - 1}")


def statements_per_cycle(cart_id: UUID, variant_id: int, path: str) -> tuple[int, int]:
    """(statements per cycle, BEGIN and COMMIT not counted; of which sent while the hot
    stock row is locked, from the statement that locks it to its transaction's COMMIT)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    total = locked = 0
    for step in _cycle_steps(path, variant_id):
        with CaptureQueriesContext(connection) as ctx:
            step(cart_id)
        sqls = [q["sql"] for q in ctx.captured_queries]
        total += sum(sql not in ("BEGIN", "COMMIT") for sql in sqls)
        first_lock = next((i for i, sql in enumerate(sqls) if LOCKING.search(sql)), None)
        if first_lock is not None:
            commit = next((i for i in range(first_lock, len(sqls)) if sqls[i] == "COMMIT"), len(sqls))
            locked += commit - first_lock
    return total, locked


@dataclass
class Hold:
    """How long one step held the hot stock row, per sample (ms), and how many statements
    it sent while holding it (COMMIT not counted)."""

    samples: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else 0.0

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0

    @property
    def statements_text(self) -> str:
        if not self.statements:
            return "-"
        low, high = min(self.statements), max(self.statements)
        return (f"{low}" if low == high else f"{low}-{high}") + " + COMMIT"


_SENT = threading.local()


class SendStamps:
    """Notes when each statement leaves the client (psycopg sends it), so that a hold is
    timed from the moment the locking statement is on its way, for the service (whose
    statements Django's cursor adapts first) and the bare SQL alike."""

    def __enter__(self) -> "SendStamps":
        from psycopg import _cursor_base, client_cursor

        self._patched = []
        for cls, name in ((_cursor_base.BaseCursor, "_execute_send"), (_cursor_base.BaseCursor, "_send_query_prepared"),
                          (client_cursor.ClientCursorMixin, "_execute_send")):
            original = cls.__dict__[name]

            def stamped(cursor, *args, __original=original, **kwargs):
                _SENT.at = time.perf_counter()
                return __original(cursor, *args, **kwargs)

            setattr(cls, name, stamped)
            self._patched.append((cls, name, original))
        return self

    def __exit__(self, *exc) -> None:
        for cls, name, original in self._patched:
            setattr(cls, name, original)

    @staticmethod
    def last() -> float:
        return _SENT.at


class HoldClock:
    """Times the service's hold of the hot row in this thread's connection: from sending
    the statement that locks it to the return of the transaction's COMMIT (a rollback
    ends no sample), counting the statements sent in between. Use inside SendStamps."""

    def __init__(self) -> None:
        self.locked_at: float | None = None
        self.sent = 0
        self.last: tuple[float, int] | None = None

    def watch(self, execute, sql, params, many, context):
        locking = self.locked_at is None and LOCKING.search(sql)
        if self.locked_at is not None or locking:
            self.sent += 1
        try:
            return execute(sql, params, many, context)
        finally:
            if locking:
                self.locked_at = SendStamps.last()

    def __enter__(self) -> "HoldClock":
        from django.db import connection

        original = connection._commit

        def timed_commit():
            result = original()
            if self.locked_at is not None:
                self.last = (1000 * (time.perf_counter() - self.locked_at), self.sent)
            self.locked_at, self.sent = None, 0
            return result

        connection._commit = timed_commit
        self._wrapper = connection.execute_wrapper(self.watch)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        from django.db import connection

        self._wrapper.__exit__(*exc)
        del connection._commit

    def take(self) -> tuple[float, int] | None:
        last, self.last = self.last, None
        self.locked_at, self.sent = None, 0
        return last


def lock_holds(url: str, cart_id: UUID, variant_id: int, path: str, cycles: int) -> tuple[dict[str, Hold], dict[str, Hold], dict[str, Hold]]:
    """(service, bare SQL in a transaction, bare SQL autocommit) holds of the hot row per
    step, one worker, no contention: `cycles` service cycles (reserve, extend, release),
    each followed by the bare SQL of the same three steps on the same row, both ways, so
    all see the same machine.

    The bare SQL in a transaction is sent as the service sends its stock statement:
    BEGIN, the statement, COMMIT, timed from sending the statement to the end of the
    COMMIT; this is the like-for-like floor. Autocommit sends the statement alone and the
    server commits it in the same round trip: one round trip less than any transaction
    that also writes something else (the service writes the cart first)."""
    import psycopg

    steps = _step_functions(path, variant_id)
    service = {step: Hold() for step in STEPS}
    bare = {step: Hold() for step in STEPS}
    autocommit = {step: Hold() for step in STEPS}
    bare_cart = UUID(int=POOL_CART_BASE - 1)
    params = {"cart": bare_cart, "variant": variant_id}
    with psycopg.connect(common.libpq_url(url), autocommit=True) as conn, SendStamps(), HoldClock() as clock:
        for _ in range(cycles):
            for step in STEPS:
                steps[step](cart_id)
                sample = clock.take()
                if sample is not None:
                    service[step].samples.append(sample[0])
                    service[step].statements.append(sample[1])
            for step in STEPS:
                conn.execute("BEGIN")
                conn.execute(BARE_STEPS[step], params, prepare=True)
                sent = SendStamps.last()
                conn.execute("COMMIT")
                bare[step].samples.append(1000 * (time.perf_counter() - sent))
                bare[step].statements.append(1)
            for step in STEPS:
                conn.execute(BARE_STEPS[step], params, prepare=True)
                autocommit[step].samples.append(1000 * (time.perf_counter() - SendStamps.last()))
                autocommit[step].statements.append(1)
    return service, bare, autocommit


def print_holds(service: dict[str, Hold], bare: dict[str, Hold], autocommit: dict[str, Hold]) -> None:
    print(f"Lock hold of the hot stock row per step, one worker, no contention ({common.machine_load()}):")
    print(f"from sending the statement that locks it to the end of COMMIT, ms; targets for reserve and release: "
          f"median <= {TARGET_HOLD_MS} ms and <= {TARGET_HOLD_RATIO}x the bare SQL's (the same statement and COMMIT), "
          "one statement under the lock.")
    print("Bare SQL: the same statement in a transaction (BEGIN, statement, COMMIT: the service's shape), and in "
          "autocommit (statement and commit in one round trip).")
    rows = []
    for step in STEPS:
        s, b, a = service[step], bare[step], autocommit[step]
        ratio = s.median / b.median if b.median else 0.0
        verdict = ""
        if step != "extend":
            meets = s.median <= TARGET_HOLD_MS and ratio <= TARGET_HOLD_RATIO and max(s.statements, default=99) == 1
            verdict = "  (meets)" if meets else "  (MISSES)"
        rows.append([step, f"{s.median:.3f}", f"{s.p95:.3f}", s.statements_text, f"{b.median:.3f}", f"{b.p95:.3f}",
                     b.statements_text, f"{ratio:.2f}{verdict}", f"{a.median:.3f}", f"{a.p95:.3f}",
                     f"{s.median / a.median:.2f}" if a.median else "-"])
    common.print_table(["step", "service median", "p95", "service statements", "bare SQL median", "p95",
                        "bare statements", "service/bare", "bare autocommit median", "p95", "service/autocommit"], rows)
    reserve_release = [service["reserve"].median, service["release"].median]
    if all(reserve_release):
        per_cycle = sum(reserve_release)
        print(f"reserve + release hold the row {per_cycle:.2f} ms per cycle: at most {1000 / per_cycle:.0f} cycles/s "
              "of one SKU once workers queue on it")


# --- the HTTP path ------------------------------------------------------------------------

class Gunicorn:
    """gunicorn serving shop.wsgi on a free loopback port, against the benchmark database,
    with DEBUG off and the rate limits raised far above the load (the settings read them
    from API_RATE_LIMIT, API_CHECKOUT_RATE_LIMIT and CHECKOUT_START_RATE_LIMIT)."""

    def __init__(self, *, database_url: str, workers: int, threads: int, log_path: Path) -> None:
        self.port = common.free_port()
        self.log_path = log_path
        self.log = open(log_path, "w")
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "shop.settings",
            "DEBUG": "False",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            "API_RATE_LIMIT": "100000000/minute",
            "API_CHECKOUT_RATE_LIMIT": "100000000/minute",
            "CHECKOUT_START_RATE_LIMIT": "100000000/m",  # per client address: all 16 clients are 127.0.0.1
            "SECURE_SSL_REDIRECT": "False",  # plain http on loopback, as behind a proxy that redirects
            "CONN_MAX_AGE": "600",
            "LOG_LEVEL": "WARNING",
            "STATIC_ROOT": str(log_path.parent / "static"),
        }
        # As a deployment does before starting the web processes (docs/operations.md):
        # with DEBUG off the static files are served from their collected manifest.
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=common.ROOT, env=env,
                       stdout=self.log, stderr=subprocess.STDOUT, check=True, timeout=600)
        gunicorn = Path(sys.executable).parent / "gunicorn"
        command = [str(gunicorn) if gunicorn.exists() else "gunicorn", "shop.wsgi", "--workers", str(workers),
                   "--bind", f"{HOST}:{self.port}", "--log-level", "warning"]
        if threads > 1:
            command += ["--threads", str(threads)]
        self.process = subprocess.Popen(command, cwd=common.ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.base_url + "/api/v1/currencies/", timeout=5).read()
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_path.read_text()[-3000:]}")

    def cpu_seconds(self) -> float:
        """CPU time of the workers so far (user + system)."""
        import psutil

        total = 0.0
        for child in psutil.Process(self.process.pid).children():
            try:
                times = child.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@dataclass
class HttpLoad:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0  # gunicorn workers' CPU seconds
    database_cpu: float = 0.0  # their PostgreSQL backends' CPU seconds
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.server_cpu / self.requests if self.requests else 0.0

    @property
    def database_cpu_ms(self) -> float:
        return 1000 * self.database_cpu / self.requests if self.requests else 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def _http_round(base: str, cart_ids: list[UUID], kind: str, seconds: float, load: HttpLoad) -> None:
    """Every client loops its cart's requests of `kind` ("cycle": POST then DELETE of
    .../checkout/; "read": GET of the cart) until `seconds` have passed; the round lasts
    until the last request in flight is answered."""
    import aiohttp

    async def main() -> None:
        connector = aiohttp.TCPConnector(limit=len(cart_ids))
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as session:
            start = time.perf_counter()
            deadline = start + seconds

            async def request(method: str, url: str) -> None:
                t0 = time.perf_counter()
                try:
                    async with session.request(method, url) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    status = 599
                load.latencies.append(time.perf_counter() - t0)
                load.requests += 1
                load.statuses[status] = load.statuses.get(status, 0) + 1
                if status != 200:
                    load.errors += 1

            async def client(cart_id: UUID) -> None:
                cart_url = f"{base}/api/v1/carts/{cart_id}/"
                while time.perf_counter() < deadline:
                    if kind == "cycle":
                        await request("POST", cart_url + "checkout/")
                        await request("DELETE", cart_url + "checkout/")
                    else:
                        await request("GET", cart_url)

            await asyncio.gather(*(client(cart_id) for cart_id in cart_ids))
            load.seconds += time.perf_counter() - start

    asyncio.run(main())


def _backend_cpu_seconds(url: str) -> float:
    """CPU time so far of the PostgreSQL backends serving the benchmark database (the web
    workers' persistent connections; the server runs on this machine)."""
    import psutil
    import psycopg

    with psycopg.connect(common.libpq_url(url), autocommit=True) as conn:
        pids = [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_http(url: str, variant_id: int, *, clients: int, workers: int, threads: int, seconds: float,
             rounds: int, workdir: Path) -> tuple[HttpLoad, HttpLoad]:
    """(start/cancel load, read load): `clients` carts of one line of the hot SKU, each
    its own client; alternating rounds of cycles and reads, `seconds` of each in all."""
    from django.db import connections

    from cart import services as cart_services

    cart_ids = []
    for _ in range(clients):
        cart = cart_services.create_cart()
        cart_services.add_line(cart_id=cart.pk, sku=HOT_SKU, quantity=1)
        cart_ids.append(cart.pk)
    connections.close_all()
    server = Gunicorn(database_url=url, workers=workers, threads=threads, log_path=workdir / "gunicorn.log")
    cycle, read = HttpLoad(), HttpLoad()
    try:
        server.wait_ready()
        _http_round(server.base_url, cart_ids, "cycle", 2.0, HttpLoad())  # warm-up: every worker connected and loaded
        _http_round(server.base_url, cart_ids, "read", 1.0, HttpLoad())
        for _ in range(rounds):
            for kind, load in (("cycle", cycle), ("read", read)):
                cpu, database_cpu = server.cpu_seconds(), _backend_cpu_seconds(url)
                _http_round(server.base_url, cart_ids, kind, seconds / rounds, load)
                load.server_cpu += server.cpu_seconds() - cpu
                load.database_cpu += _backend_cpu_seconds(url) - database_cpu
    finally:
        server.stop()
    return cycle, read


def print_http(cycle: HttpLoad, read: HttpLoad, *, clients: int, workers: int, threads: int) -> None:
    kind = f"{workers} sync workers" if threads <= 1 else f"{workers} workers x {threads} threads"
    print(f"HTTP: gunicorn {kind}, {clients} clients each with its own cart of the hot SKU, "
          f"cycles and reads in alternating rounds ({common.machine_load()}).")
    ratio = cycle.rate / read.rate if read.rate else 0.0
    verdict = "meets" if ratio >= TARGET_HTTP_RATIO and cycle.errors == 0 and read.errors == 0 else "MISSES"
    rows = [
        ["checkout start + cancel", f"{cycle.rate:.1f}", f"{cycle.rate / 2:.1f} cycles/s", str(cycle.requests), str(cycle.errors),
         f"{cycle.pct(50):.1f}", f"{cycle.pct(95):.1f}", f"{cycle.cpu_ms:.2f}", f"{cycle.database_cpu_ms:.2f}"],
        ["cart read (GET)", f"{read.rate:.1f}", "", str(read.requests), str(read.errors),
         f"{read.pct(50):.1f}", f"{read.pct(95):.1f}", f"{read.cpu_ms:.2f}", f"{read.database_cpu_ms:.2f}"],
    ]
    common.print_table(["requests", "requests/s", "", "requests", "errors", "p50 ms", "p95 ms", "gunicorn CPU ms/request",
                        "PostgreSQL CPU ms/request"], rows)
    print(f"ratio start/cancel requests/s over cart reads/s: {ratio:.2f} (target >= {TARGET_HTTP_RATIO}, zero errors: {verdict})")
    if cycle.errors or read.errors:
        print(f"  answers: start/cancel {dict(sorted(cycle.statuses.items()))}, reads {dict(sorted(read.statuses.items()))}")


def check_stock(variant_id: int, expect_reserved: int | None) -> str:
    from django.db.models import Sum

    from inventory.models import Reservation, Stock

    stock = Stock.objects.get(variant_id=variant_id)
    active = Reservation.objects.filter(variant_id=variant_id, status="active").aggregate(n=Sum("quantity"))["n"] or 0
    ok = stock.reserved == active and stock.reserved <= stock.on_hand == ON_HAND
    if expect_reserved is not None:
        ok = ok and stock.reserved == expect_reserved
    return f"on_hand {stock.on_hand}, reserved {stock.reserved}, active reservations {active}: {'OK' if ok else 'WRONG'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per run, in each round (default 5)")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated worker counts (default 1,8,32)")
    parser.add_argument("--processes", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the service loop with one process (and connection) per worker (default on)")
    parser.add_argument("--path", choices=["checkout", "inventory"], default="checkout",
                        help="checkout: start_checkout/cancel_checkout (default); inventory: reserve/release with the cart locked")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds of service and bare SQL runs per client count (default 3)")
    parser.add_argument("--no-reserve-only", action="store_true", help="skip the bare reserve-only pgbench run")
    parser.add_argument("--hold-cycles", type=int, default=300, help="cycles timed for the lock hold per step (default 300)")
    parser.add_argument("--http", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the HTTP path through gunicorn (default on)")
    parser.add_argument("--http-seconds", type=float, default=20.0,
                        help="seconds of start/cancel cycles, and as many of cart reads (default 20)")
    parser.add_argument("--http-rounds", type=int, default=4, help="alternating rounds those seconds are split into (default 4)")
    parser.add_argument("--http-clients", type=int, default=16, help="HTTP clients, each with its own cart (default 16)")
    parser.add_argument("--gunicorn-workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--gunicorn-threads", type=int, default=1, help="threads per gunicorn worker (default 1: sync workers)")
    parser.add_argument("--keep-db", action="store_true", help=f"keep database {DB_NAME} afterwards")
    args = parser.parse_args()
    common.exit_cleanly_on_sigterm()
    clients = [int(c) for c in args.clients.split(",") if c.strip()]

    pgbench = common.find_pgbench()
    if not pgbench:
        print("pgbench not found (pgserver wheel or PATH); cannot measure the bare SQL floor.", file=sys.stderr)
        return 2
    print(f"hot-SKU benchmark: {args.seconds:g} s per run, {args.rounds} round(s) per client count, service path '{args.path}', {common.machine_load()}")
    url = common.recreate_database(DB_NAME)
    try:
        common.setup_django(url)
        common.migrate()
        variant_id, service_carts, bare_carts = seed(max(clients))
        total, locked = statements_per_cycle(service_carts[0], variant_id, args.path)
        print(f"service cycle (reserve, release): {total} SQL statements (BEGIN/COMMIT not counted), "
              f"{locked} of them while the hot stock row is locked (each followed by its COMMIT)")
        print()
        print_holds(*lock_holds(url, service_carts[0], variant_id, args.path, args.hold_cycles))
        print(f"  stock after the lock-hold cycles: {check_stock(variant_id, 0)}")
        print()

        modes = ["threads"] + (["processes"] if args.processes else [])
        service: dict[tuple[str, int], Run] = {}
        bare: dict[int, Run] = {}
        round_ratios: dict[tuple[str, int], list[float]] = {}
        with tempfile.TemporaryDirectory(prefix="bench-hot-sku-") as tmp:
            # Service and bare SQL runs alternate, round after round, so that a machine
            # that slows down or speeds up meanwhile weighs on both alike.
            for n in clients:
                for round_no in range(1, args.rounds + 1):
                    runs: dict[str, Run] = {}
                    for mode in modes:
                        runner = run_threads if mode == "threads" else run_processes
                        with LockWaitSampler(url) as sampler, MachineBusy() as machine:
                            r = runs[mode] = runner(service_carts[:n], variant_id, args.path, args.seconds)
                        r.lock_wait, r.machine_busy = sampler.share, machine.share
                        service[mode, n] = service[mode, n] + r if (mode, n) in service else r
                        print(f"  round {round_no} service {mode:9} {n:3}: {r.rate:8.1f} reserves/s ({r.cycles} cycles, "
                              f"{r.errors} errors, client CPU {r.cpu_ms_per_cycle:.2f} ms/cycle, lock waits {r.lock_wait:.0%}, "
                              f"machine busy {r.machine_busy:.0%})",
                              flush=True)
                    with LockWaitSampler(url) as sampler, MachineBusy() as machine:
                        b = run_pgbench(pgbench, url, CYCLE_SCRIPT, n, args.seconds, variant_id, Path(tmp))
                    b.lock_wait, b.machine_busy = sampler.share, machine.share
                    bare[n] = bare[n] + b if n in bare else b
                    print(f"  round {round_no} bare SQL cycle    {n:3}: {b.rate:8.1f} reserves/s ({b.cycles} cycles, {b.errors} failed, "
                          f"client CPU {b.cpu_ms_per_cycle:.2f} ms/cycle, lock waits {b.lock_wait:.0%}, "
                          f"machine busy {b.machine_busy:.0%})", flush=True)
                    for mode, r in runs.items():
                        round_ratios.setdefault((mode, n), []).append(r.rate / b.rate if b.rate else 0.0)
            print(f"  stock after the service and bare cycle runs: {check_stock(variant_id, 0)}")
            reserve_only: dict[int, Run] = {}
            if not args.no_reserve_only:
                # A reserve alone costs about half a cycle; 4x the best cycle rate is ample.
                best = max((r.rate for r in bare.values()), default=1000.0)
                make_cart_pool(int(4 * best * args.seconds * len(clients)) + 10_000)
                for n in clients:
                    reserve_only[n] = run_pgbench(pgbench, url, RESERVE_ONLY_SCRIPT, n, args.seconds, variant_id, Path(tmp))
                    r = reserve_only[n]
                    print(f"  bare reserve-only {n:3}: {r.rate:8.1f} reserves/s ({r.cycles} transactions, {r.errors} failed)", flush=True)
                print(f"  stock after the reserve-only runs: {check_stock(variant_id, None)}")

        print()
        print(f"Reserve-and-release of one hot SKU, reserves/s ({common.machine_load()}).")
        print(f"ratio = service / bare SQL cycle (like for like), over {args.rounds} alternating round(s) of "
              f"{args.seconds:g} s each; target >= {TARGET_RATIO} at {TARGET_CLIENTS} worker processes. "
              "Round by round: the ratio of each round.")
        headers = ["mode", "workers", "service reserves/s", "bare SQL reserves/s", "ratio", "round by round",
                   "service CPU ms/reserve", "lock waits service/bare", "machine busy service/bare"]
        if reserve_only:
            headers += ["bare reserve-only/s", "ratio"]
        rows = []
        for (mode, n), r in service.items():
            ratio = r.rate / bare[n].rate if bare[n].rate else 0.0
            mark = ("  (meets)" if ratio >= TARGET_RATIO else "  (MISSES)") if (mode, n) == ("processes", TARGET_CLIENTS) else ""
            row = [mode, str(n), f"{r.rate:.1f}", f"{bare[n].rate:.1f}", f"{ratio:.2f}{mark}",
                   " ".join(f"{x:.2f}" for x in round_ratios[mode, n]), f"{r.cpu_ms_per_cycle:.2f}",
                   f"{r.lock_wait:.0%} / {bare[n].lock_wait:.0%}", f"{r.machine_busy:.0%} / {bare[n].machine_busy:.0%}"]
            if reserve_only:
                ro = reserve_only[n].rate
                row += [f"{ro:.1f}", f"{r.rate / ro:.2f}" if ro else "-"]
            rows.append(row)
        common.print_table(headers, rows)

        if args.http:
            print()
            from inventory.models import Stock

            reserved_before = Stock.objects.get(variant_id=variant_id).reserved  # the reserve-only runs' units stay
            with tempfile.TemporaryDirectory(prefix="bench-hot-sku-http-") as tmp:
                cycle, read = run_http(url, variant_id, clients=args.http_clients, workers=args.gunicorn_workers,
                                       threads=args.gunicorn_threads, seconds=args.http_seconds, rounds=args.http_rounds,
                                       workdir=Path(tmp))
            print_http(cycle, read, clients=args.http_clients, workers=args.gunicorn_workers, threads=args.gunicorn_threads)
            print(f"  stock after the HTTP runs: {check_stock(variant_id, reserved_before)}")
        return 0
    finally:
        STOP.set()
        if not args.keep_db:
            common.drop_database(DB_NAME)


if __name__ == "__main__":
    sys.exit(main())
