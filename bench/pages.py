"""Page benchmark: the shop served by gunicorn (4 sync workers, DEBUG off) on a free
loopback port, 16 concurrent clients per page after a warm-up, against the catalog list
(20 products a page), a product page and the cart page with 3 lines. Prints requests/s,
p50/p95/p99 latency, each page's SQL query count and its CPU time per request (both
measured in-process with Django's test client), beside django-oscar's figures and the
targets, with the machine's load average.

CPU per request (`--cpu` prints only that, without gunicorn): each page rendered
`--cpu-requests` times in this process through the whole middleware stack, timed with
time.process_time (the process's own CPU, so it stays meaningful on a busy machine,
unlike requests/s); `--profile` adds each page's top functions under cProfile.

Set-up: a fresh database `bench_pages` on the server Django would use (DATABASE_URL,
else the private pgserver), migrated, seeded with 100 products x 3 variants in 5
categories through checkout.imports.import_catalog, each product with a picture drawn
by Pillow (the detail product with three) through the import's "images" paths, stored
in a temporary MEDIA_ROOT with their thumbnails, and a cart of 3 lines built through
cart.services whose id is put in a session (cart/session.py's SESSION_KEY), the way the
site's add-to-cart form leaves it. Static files are collected into a temporary
STATIC_ROOT through a temporary settings module that extends shop.settings.

Load generator: `wrk` when it is installed (a Lua script prints the percentiles), else a
built-in aiohttp client. Nothing is installed by this script. Traffic goes to 127.0.0.1 only.

Usage: .venv/bin/python bench/pages.py [--seconds 20] [--warmup 3] [--clients 16]
       [--workers 4] [--client wrk|aiohttp] [--cpu] [--cpu-requests 200] [--profile] [--keep-db]
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import common

DB_NAME = "bench_pages"
PRODUCTS = 100
VARIANTS_PER_PRODUCT = 3
CATEGORIES = ["Shirts", "Trousers", "Knitwear", "Shoes", "Accessories"]
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    oscar_rps: float
    oscar_queries: int
    target_rps: float
    must_contain: tuple[str, ...]
    with_cart_session: bool = False


@dataclass
class Load:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def product_slug(i: int) -> str:
    return f"bench-product-{i:03d}"


def product_name(i: int) -> str:
    return f"Bench product {i:03d}"


# The 3 cart lines: variants of three different products.
CART_SKUS = [f"BENCH-{i:03d}-{size}" for i, size in ((7, "M"), (42, "S"), (77, "L"))]
DETAIL_PRODUCT = 50

# django-oscar's sandbox tuned as a production site (issue 11: cached template loader,
# persistent connections, gunicorn 4 workers, 16 clients): about 7, 75 and 21 requests/s.
# Targets: list 10x, product 3x, cart 3x of those.
PAGES = [
    Page("catalog list", "/", 7, 132, 70, (product_name(0), product_name(19), "/thumbs/")),
    Page("product", f"/products/{product_slug(DETAIL_PRODUCT)}/", 75, 18, 225, (product_name(DETAIL_PRODUCT), f"BENCH-{DETAIL_PRODUCT:03d}-S", "/thumbs/")),
    Page("cart (3 lines)", "/cart/", 21, 67, 63, tuple(product_name(int(sku.split("-")[1])) for sku in CART_SKUS), with_cart_session=True),
]
IMAGE_SIZE = (400, 500)
PALETTE = [(178, 34, 52), (30, 90, 160), (40, 130, 80), (200, 150, 40), (90, 60, 140), (60, 60, 60)]

SETTINGS_TEMPLATE = """\
# Written by bench/pages.py: the shop's settings with a temporary STATIC_ROOT and MEDIA_ROOT.
from shop.settings import *  # noqa: F401,F403

STATIC_ROOT = {static_root!r}
MEDIA_ROOT = {media_root!r}
"""

WRK_SCRIPT = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d errors=%d p50=%d p95=%d p99=%d\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


# --- set-up ----------------------------------------------------------------------------------

def draw_images(folder: Path) -> dict[int, list[str]]:
    """Small PNGs drawn with Pillow (no downloads): one per product, three for the detail
    product; returns each product's file names (relative to `folder`)."""
    from PIL import Image, ImageDraw

    names: dict[int, list[str]] = {}
    for i in range(PRODUCTS):
        names[i] = []
        for k in range(3 if i == DETAIL_PRODUCT else 1):
            picture = Image.new("RGB", IMAGE_SIZE, PALETTE[(i + k) % len(PALETTE)])
            draw = ImageDraw.Draw(picture)
            draw.rectangle((60 + 10 * k, 80, 340, 420), fill=(245, 245, 240))
            draw.ellipse((150, 180, 250, 280), fill=PALETTE[(i + k + 3) % len(PALETTE)])
            draw.text((70, 440), f"{i:03d}-{k}", fill=(255, 255, 255))
            name = f"bench-{i:03d}-{k}.png"
            picture.save(folder / name, "PNG")
            names[i].append(name)
    return names


def catalog_file(image_names: dict[int, list[str]] | None = None) -> dict:
    sizes = ["S", "M", "L"][:VARIANTS_PER_PRODUCT]
    image_names = image_names or {}
    return {
        "products": [
            {
                "slug": product_slug(i),
                "name": product_name(i),
                "category": CATEGORIES[i % len(CATEGORIES)],
                "description": f"A product of the benchmark catalog, number {i}.",
                "variants": [
                    {"sku": f"BENCH-{i:03d}-{size}", "attributes": {"size": size},
                     "price_usd": f"{10 + i % 40}.{(i * 7) % 100:02d}", "stock": 50, "low_stock_threshold": 3}
                    for size in sizes
                ],
                **({"images": [{"path": name, "alt": f"{product_name(i)}, view {k + 1}"}
                               for k, name in enumerate(image_names[i])]} if image_names.get(i) else {}),
            }
            for i in range(PRODUCTS)
        ]
    }


def seed(image_dir: Path) -> str:
    """Catalog (with pictures drawn into image_dir) and a 3-line cart bound to a new
    session; returns the session key."""
    from importlib import import_module

    from django.conf import settings

    from cart import services as cart_services
    from cart.session import SESSION_KEY
    from checkout.imports import import_catalog

    import_catalog(catalog_file(draw_images(image_dir)), image_dir=image_dir)
    cart = cart_services.create_cart()
    for sku in CART_SKUS:
        cart_services.add_line(cart_id=cart.pk, sku=sku, quantity=1)
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(cart.pk)
    session.create()
    return session.session_key


def collectstatic() -> None:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)


def query_counts(session_key: str) -> dict[str, int]:
    """Queries of each page's second request (the first warms per-process caches), as a
    shopper with the benchmark's session sees it."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for page in PAGES:
        client = Client(HTTP_HOST=HOST)
        if page.with_cart_session:
            client.cookies[settings.SESSION_COOKIE_NAME] = session_key
        for attempt in range(2):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(page.path)
            if response.status_code != 200:
                raise SystemExit(f"{page.name} {page.path} answered {response.status_code} in-process")
        counts[page.name] = len(ctx.captured_queries)
    return counts


def cpu_per_request(session_key: str, requests: int, profile: bool, rounds: int = 5) -> dict[str, tuple[float, float]]:
    """ms of this process's CPU per request of each page, median and best of `rounds`
    rounds (pages interleaved, so a burst of load elsewhere does not hit one page only),
    after a warm-up of 5 requests each; through the test client and the whole middleware
    stack, the database server's CPU not included. With profile, prints each page's top
    functions by cumulative time. The request log lines go to /dev/null meanwhile (they
    are still formatted, as in production)."""
    import gc
    import logging
    import statistics

    from django.conf import settings
    from django.test import Client

    clients = {}
    for page in PAGES:
        client = Client(HTTP_HOST=HOST)
        if page.with_cart_session:
            client.cookies[settings.SESSION_COOKIE_NAME] = session_key
        for _ in range(5):
            if client.get(page.path).status_code != 200:
                raise SystemExit(f"{page.name} {page.path} failed in-process")
        clients[page.name] = client
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    devnull = open(os.devnull, "w")
    streams = [h.setStream(devnull) for h in handlers]
    per_round: dict[str, list[float]] = {page.name: [] for page in PAGES}
    profilers = {page.name: cProfile.Profile(time.process_time) for page in PAGES} if profile else {}
    each = max(1, requests // rounds)
    try:
        for _ in range(rounds):
            for page in PAGES:
                client = clients[page.name]
                gc.collect()
                profiler = profilers.get(page.name)
                started = time.process_time()
                if profiler:
                    profiler.enable()
                for _ in range(each):
                    client.get(page.path)
                if profiler:
                    profiler.disable()
                per_round[page.name].append(1000 * (time.process_time() - started) / each)
    finally:
        for handler, stream in zip(handlers, streams):
            handler.setStream(stream)
        devnull.close()
    for name, profiler in profilers.items():
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(40)
        print(f"--- {name}: top functions by cumulative CPU time (profiled, so slower) ---\n{out.getvalue()}")
    return {name: (statistics.median(values), min(values)) for name, values in per_round.items()}


def print_cpu(figures: dict[str, tuple[float, float]], counts: dict[str, int]) -> None:
    print(f"CPU per request in-process (time.process_time of the web process, median and best of 5 rounds; "
          f"{common.machine_load()}):")
    common.print_table(["page", "CPU ms/request", "best round", "queries"],
                       [[page.name, f"{figures[page.name][0]:.2f}", f"{figures[page.name][1]:.2f}", str(counts[page.name])]
                        for page in PAGES])


def fetch(url: str, cookie: str | None = None, timeout: float = 10.0) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


class Gunicorn:
    """gunicorn serving shop.wsgi on a free loopback port; stopped by stop() (or on exit)."""

    def __init__(self, *, env: dict[str, str], workers: int, log_path: Path) -> None:
        self.port = common.free_port()
        self.log_path = log_path
        self.log = open(log_path, "w")
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.process = subprocess.Popen(
            [str(gunicorn) if gunicorn.exists() else "gunicorn", "shop.wsgi", "--workers", str(workers),
             "--bind", f"{HOST}:{self.port}", "--log-level", "warning"],
            cwd=common.ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}")
            try:
                status, _ = fetch(self.base_url + "/", timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


# --- load generators -----------------------------------------------------------------------

def run_wrk(wrk: str, url: str, cookie: str | None, clients: int, seconds: float, script: Path) -> Load:
    cmd = [wrk, "-t", "2", "-c", str(clients), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script)]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    done = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds + 60)
    line = next((l for l in done.stdout.splitlines() if l.startswith("BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    fields = dict(item.split("=") for item in line.split()[1:])
    return Load(int(fields["requests"]), int(fields["duration_us"]) / 1e6, int(fields["errors"]),
                int(fields["p50"]) / 1000, int(fields["p95"]) / 1000, int(fields["p99"]) / 1000)


def run_aiohttp(url: str, cookie: str | None, clients: int, seconds: float) -> Load:
    import aiohttp

    async def main() -> Load:
        latencies: list[float] = []
        errors = 0
        headers = {"Cookie": cookie} if cookie else {}
        connector = aiohttp.TCPConnector(limit=clients)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers, cookie_jar=aiohttp.DummyCookieJar()) as session:
            start = time.perf_counter()
            deadline = start + seconds

            async def client() -> None:
                nonlocal errors
                while time.perf_counter() < deadline:
                    t0 = time.perf_counter()
                    try:
                        async with session.get(url, allow_redirects=False) as response:
                            await response.read()
                            ok = response.status < 400
                    except (aiohttp.ClientError, asyncio.TimeoutError):
                        ok = False
                    latencies.append(time.perf_counter() - t0)
                    errors += not ok

            await asyncio.gather(*(client() for _ in range(clients)))
            elapsed = time.perf_counter() - start
        latencies.sort()

        def pct(p: float) -> float:
            return 1000 * latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] if latencies else 0.0

        return Load(len(latencies), elapsed, errors, pct(50), pct(95), pct(99))

    return asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per page (default 20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up time per page, not measured (default 3)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--client", choices=["wrk", "aiohttp"], default=None, help="load generator (default: wrk if installed)")
    parser.add_argument("--cpu", action="store_true", help="only the in-process CPU per request and query counts (no gunicorn)")
    parser.add_argument("--cpu-requests", type=int, default=200, help="requests per page for the CPU figures, in 5 rounds (default 200)")
    parser.add_argument("--profile", action="store_true", help="with the CPU figures, print each page's cProfile top functions")
    parser.add_argument("--keep-db", action="store_true", help=f"keep database {DB_NAME} afterwards")
    args = parser.parse_args()
    common.exit_cleanly_on_sigterm()

    wrk = shutil.which("wrk")
    generator = args.client or ("wrk" if wrk else "aiohttp")
    if generator == "wrk" and not wrk and not args.cpu:
        print("wrk is not installed (apt-get install wrk); use --client aiohttp.", file=sys.stderr)
        return 2
    print(f"page benchmark: gunicorn {args.workers} workers, {args.clients} clients, {args.seconds:g} s per page "
          f"after {args.warmup:g} s warm-up, load from {generator}; {common.machine_load()}")

    url = common.recreate_database(DB_NAME)
    tmp = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    server: Gunicorn | None = None
    try:
        for folder in ("static", "media", "images"):
            (tmp / folder).mkdir()
        (tmp / "bench_settings.py").write_text(SETTINGS_TEMPLATE.format(static_root=str(tmp / "static"), media_root=str(tmp / "media")))
        (tmp / "wrk.lua").write_text(WRK_SCRIPT)
        sys.path.insert(0, str(tmp))
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "bench_settings",
            "PYTHONPATH": os.pathsep.join([str(tmp), str(common.ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "DEBUG": "False",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
        }
        os.environ.update({k: env[k] for k in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")})
        common.setup_django(url, settings_module="bench_settings")
        env.update({k: os.environ[k] for k in ("REDIS_URL", "CELERY_FILESYSTEM_BROKER_DIR")})
        started = time.monotonic()
        common.migrate()
        session_key = seed(tmp / "images")
        collectstatic()
        counts = query_counts(session_key)
        from django.conf import settings
        from django.db import connections

        cookie = f"{settings.SESSION_COOKIE_NAME}={session_key}"
        print(f"set-up (migrate, seed {PRODUCTS}x{VARIANTS_PER_PRODUCT} with pictures, collectstatic, query counts): "
              f"{time.monotonic() - started:.1f} s")
        media_files = sum(1 for path in (tmp / "media").rglob("*") if path.is_file())
        cpu = cpu_per_request(session_key, args.cpu_requests, args.profile)
        connections.close_all()
        print_cpu(cpu, counts)
        made_since = sum(1 for path in (tmp / "media").rglob("*") if path.is_file()) - media_files
        # The thumbnails are made at import and read from the image rows afterwards.
        print(f"thumbnail files written while the pages were served: {made_since}"
              + ("" if made_since == 0 else " (they should have been made once, at import)"))
        if args.cpu:
            return 0

        server = Gunicorn(env=env, workers=args.workers, log_path=tmp / "gunicorn.log")
        server.wait_ready()
        for page in PAGES:
            status, body = fetch(server.base_url + page.path, cookie if page.with_cart_session else None)
            missing = [text for text in page.must_contain if text not in body]
            if status != 200 or missing:
                raise SystemExit(f"{page.name} {page.path}: status {status}, missing {missing}: is the page built yet?")

        results: dict[str, Load] = {}
        for page in PAGES:
            page_url = server.base_url + page.path
            page_cookie = cookie if page.with_cart_session else None
            if generator == "wrk":
                run_wrk(wrk, page_url, page_cookie, args.clients, args.warmup, tmp / "wrk.lua")
                results[page.name] = run_wrk(wrk, page_url, page_cookie, args.clients, args.seconds, tmp / "wrk.lua")
            else:
                run_aiohttp(page_url, page_cookie, args.clients, args.warmup)
                results[page.name] = run_aiohttp(page_url, page_cookie, args.clients, args.seconds)
            r = results[page.name]
            print(f"  {page.name:15} {r.rps:7.1f} req/s  p50 {r.p50_ms:6.1f} ms  p95 {r.p95_ms:6.1f} ms  "
                  f"p99 {r.p99_ms:6.1f} ms  errors {r.errors}", flush=True)

        print()
        print(f"Pages under {args.clients} concurrent clients, gunicorn {args.workers} workers ({common.machine_load()}).")
        rows = []
        for page in PAGES:
            r = results[page.name]
            verdict = "meets" if r.rps >= page.target_rps else "MISSES"
            rows.append([page.name, f"{r.rps:.1f}", f"{page.target_rps:g} ({verdict})", f"{page.oscar_rps:g}",
                         f"{r.p50_ms:.1f}", f"{r.p95_ms:.1f}", f"{r.p99_ms:.1f}", str(r.errors),
                         str(counts[page.name]), str(page.oscar_queries), f"{cpu[page.name][0]:.2f}"])
        common.print_table(["page", "req/s", "target req/s", "oscar req/s", "p50 ms", "p95 ms", "p99 ms", "errors",
                            "queries", "oscar queries", "CPU ms/req"], rows)
        return 0
    finally:
        if server is not None:
            server.stop()
        if not args.keep_db:
            common.drop_database(DB_NAME)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
