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
  reserve-only — the reserve transaction alone, each on a fresh cart from a pre-made pool
                 (the schema allows one active reservation per cart and variant, and the
                 units are never given back, so on_hand is set far above what a run takes).

Python threads share the GIL; the service loop also runs with one process (and one
connection) per worker so the two can be compared (`--no-processes` skips that).

Usage: .venv/bin/python bench/hot_sku.py [--seconds 10] [--clients 1,8,32] [--no-processes]
       [--path checkout|inventory] [--no-reserve-only] [--keep-db]
"""
from __future__ import annotations

import argparse
import multiprocessing
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import common

DB_NAME = "bench_hot_sku"
HOT_SKU = "BENCH-HOT-SKU"
# Far above anything a run reserves (the reserve-only run never gives units back).
ON_HAND = 100_000_000
TARGET_RATIO = 0.5
TARGET_CLIENTS = 8
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
INSERT INTO inventory_reservation (cart_id, variant_id, quantity, status, expires_at, created_at)
SELECT {cart}, variant_id, 1, 'active', now() + interval '5 minutes', now() FROM reserved;
"""
RELEASE_SQL = """\
WITH closed AS (
    UPDATE inventory_reservation SET status = 'released', closed_at = now()
     WHERE cart_id = {cart} AND variant_id = :variant AND status = 'active'
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


@dataclass
class Run:
    cycles: int
    errors: int
    seconds: float
    client_cpu: float = 0.0  # CPU seconds of the client side (Python workers or pgbench)
    lock_wait: float = 0.0  # share of sampled busy sessions that were waiting on a lock

    @property
    def rate(self) -> float:
        return self.cycles / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_cycle(self) -> float:
        return 1000 * self.client_cpu / self.cycles if self.cycles else 0.0


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
    """The cycle as its transactions, each a callable taking the cart id."""
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from cart import services as cart_services
    from checkout import services as checkout_services
    from inventory import services as inventory

    if path == "checkout":
        return [
            lambda cart_id: checkout_services.start_checkout(cart_id=cart_id),
            lambda cart_id: checkout_services.cancel_checkout(cart_id=cart_id),
        ]

    def reserve(cart_id: UUID) -> None:
        with transaction.atomic():
            cart_services.lock_cart(cart_id)
            inventory.reserve(holder_id=cart_id, items={variant_id: 1}, expires_at=timezone.now() + settings.RESERVATION_TTL)

    def release(cart_id: UUID) -> None:
        with transaction.atomic():
            cart_services.lock_cart(cart_id)
            inventory.release(holder_id=cart_id)

    return [reserve, release]


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
    """`size` carts with ids POOL_CART_BASE.. for the reserve-only script's sequence."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO cart_cart (id, status, currency, email, shipping_method, checkout_step,
                                   last_activity_at, created_at, updated_at)
            SELECT lpad(to_hex(n), 32, '0')::uuid, 'abandoned', 'USD', '', '', 'cart', now(), now(), now()
              FROM generate_series(%s, %s) AS n
            """,
            [POOL_CART_BASE, POOL_CART_BASE + size - 1],
        )
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS bench_pool_cart START {POOL_CART_BASE} MAXVALUE {POOL_CART_BASE + size - 1}")


def statements_per_cycle(cart_id: UUID, variant_id: int, path: str) -> tuple[int, int]:
    """(statements per cycle, of which sent while the hot stock row is locked; each lock is
    also held through its transaction's COMMIT, which is not counted)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    total = locked = 0
    for step in _cycle_steps(path, variant_id):
        with CaptureQueriesContext(connection) as ctx:
            step(cart_id)
        sqls = [q["sql"] for q in ctx.captured_queries]
        total += len(sqls)
        first_lock = next((i for i, sql in enumerate(sqls) if "inventory_stock" in sql and "FOR UPDATE" in sql), None)
        if first_lock is not None:
            locked += len(sqls) - first_lock
    return total, locked


def lock_hold_ms(cart_id: UUID, variant_id: int, path: str, cycles: int = 200) -> float:
    """Median time per cycle (ms) that the hot stock row stays locked in the service path,
    one worker, no contention: from the statement that locks it to the end of COMMIT.
    Once workers queue on the row, 1000 / this is the most cycles per second possible."""
    from django.db import connection, transaction

    per_transaction: list[float] = []
    locked_at: list[float] = []

    def on_commit() -> None:
        per_transaction.append(time.perf_counter() - locked_at.pop())

    def watch(execute, sql, params, many, context):
        if not locked_at and "inventory_stock" in sql and "FOR UPDATE" in sql:
            locked_at.append(time.perf_counter())
            transaction.on_commit(on_commit)
        return execute(sql, params, many, context)

    steps = _cycle_steps(path, variant_id)
    per_cycle = []
    with connection.execute_wrapper(watch):
        for _ in range(cycles):
            per_transaction.clear()
            for step in steps:
                step(cart_id)
            per_cycle.append(sum(per_transaction))
    per_cycle.sort()
    return 1000 * per_cycle[len(per_cycle) // 2]


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
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per client count (default 10)")
    parser.add_argument("--clients", default="1,8,32", help="comma-separated worker counts (default 1,8,32)")
    parser.add_argument("--processes", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the service loop with one process (and connection) per worker (default on)")
    parser.add_argument("--path", choices=["checkout", "inventory"], default="checkout",
                        help="checkout: start_checkout/cancel_checkout (default); inventory: reserve/release with the cart locked")
    parser.add_argument("--no-reserve-only", action="store_true", help="skip the bare reserve-only pgbench run")
    parser.add_argument("--keep-db", action="store_true", help=f"keep database {DB_NAME} afterwards")
    args = parser.parse_args()
    common.exit_cleanly_on_sigterm()
    clients = [int(c) for c in args.clients.split(",") if c.strip()]

    pgbench = common.find_pgbench()
    if not pgbench:
        print("pgbench not found (pgserver wheel or PATH); cannot measure the bare SQL floor.", file=sys.stderr)
        return 2
    print(f"hot-SKU benchmark: {args.seconds:g} s per client count, service path '{args.path}', {common.machine_load()}")
    url = common.recreate_database(DB_NAME)
    try:
        common.setup_django(url)
        common.migrate()
        variant_id, service_carts, bare_carts = seed(max(clients))
        total, locked = statements_per_cycle(service_carts[0], variant_id, args.path)
        print(f"service cycle: {total} SQL statements (with BEGIN/COMMIT/savepoints), {locked} of them while the hot stock row is locked")
        hold = lock_hold_ms(service_carts[0], variant_id, args.path)
        print(f"service cycle holds the hot row {hold:.2f} ms (median, one worker): at most {1000 / hold:.0f} reserves/s once workers queue on it")

        modes = ["threads"] + (["processes"] if args.processes else [])
        service: dict[tuple[str, int], Run] = {}
        for mode in modes:
            for n in clients:
                runner = run_threads if mode == "threads" else run_processes
                with LockWaitSampler(url) as sampler:
                    r = service[mode, n] = runner(service_carts[:n], variant_id, args.path, args.seconds)
                r.lock_wait = sampler.share
                print(f"  service {mode:9} {n:3}: {r.rate:8.1f} reserves/s ({r.cycles} cycles, {r.errors} errors, "
                      f"client CPU {r.cpu_ms_per_cycle:.2f} ms/cycle, lock waits {r.lock_wait:.0%})", flush=True)
        print(f"  stock after the service runs: {check_stock(variant_id, 0)}")

        with tempfile.TemporaryDirectory(prefix="bench-hot-sku-") as tmp:
            bare: dict[int, Run] = {}
            for n in clients:
                with LockWaitSampler(url) as sampler:
                    bare[n] = run_pgbench(pgbench, url, CYCLE_SCRIPT, n, args.seconds, variant_id, Path(tmp))
                bare[n].lock_wait = sampler.share
                print(f"  bare SQL cycle    {n:3}: {bare[n].rate:8.1f} reserves/s ({bare[n].cycles} cycles, {bare[n].errors} failed, "
                      f"client CPU {bare[n].cpu_ms_per_cycle:.2f} ms/cycle, lock waits {bare[n].lock_wait:.0%})", flush=True)
            print(f"  stock after the bare cycle runs: {check_stock(variant_id, 0)}")
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
        print("ratio = service / bare SQL cycle (like for like); target >= "
              f"{TARGET_RATIO} at {TARGET_CLIENTS} workers.")
        headers = ["mode", "workers", "service reserves/s", "bare SQL reserves/s", "ratio", "service CPU ms/reserve",
                   "lock waits service/bare"]
        if reserve_only:
            headers += ["bare reserve-only/s", "ratio"]
        rows = []
        for (mode, n), r in service.items():
            ratio = r.rate / bare[n].rate if bare[n].rate else 0.0
            mark = ("  (meets)" if ratio >= TARGET_RATIO else "  (MISSES)") if n == TARGET_CLIENTS else ""
            row = [mode, str(n), f"{r.rate:.1f}", f"{bare[n].rate:.1f}", f"{ratio:.2f}{mark}", f"{r.cpu_ms_per_cycle:.2f}",
                   f"{r.lock_wait:.0%} / {bare[n].lock_wait:.0%}"]
            if reserve_only:
                ro = reserve_only[n].rate
                row += [f"{ro:.1f}", f"{r.rate / ro:.2f}" if ro else "-"]
            rows.append(row)
        common.print_table(headers, rows)
        return 0
    finally:
        STOP.set()
        if not args.keep_db:
            common.drop_database(DB_NAME)


if __name__ == "__main__":
    sys.exit(main())
