"""What both benchmarks share: a fresh database of their own on the server Django would use
(DATABASE_URL if set, else the private pgserver of shop/devdb.py), Django set up against
it, and a note of the machine's load (figures on a shared machine are noisy)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The benchmarks run the shop with DEBUG off over plain http on loopback: a key of their
# own (shop.settings refuses the development key then) and no https redirect or
# https-only cookies, which production has on. Set before any server env is built from
# os.environ, so every process a benchmark starts inherits them.
os.environ.setdefault("SECRET_KEY", __import__("secrets").token_urlsafe(50))
for _name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
    os.environ.setdefault(_name, "0")
# One benchmark client makes thousands of checkouts from one address: the per-client page
# and checkout-start limits (empty: off) would stop it after a few.
for _name in ("CHECKOUT_START_RATE_LIMIT", "ADD_TO_CART_RATE_LIMIT", "CHECKOUT_FORM_RATE_LIMIT"):
    os.environ.setdefault(_name, "")


def server_url() -> str:
    """The URL of the database Django would use; its server hosts the benchmark database."""
    url = os.environ.get("DATABASE_URL", "")
    if url:
        return url
    from shop.devdb import private_database_url

    return private_database_url()


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database name."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def libpq_url(url: str) -> str:
    """django-environ accepts postgres:// and pgsql://; libpq (psycopg, pgbench) wants postgresql://."""
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}" if scheme in ("postgres", "postgresql", "pgsql", "psql") else url


def recreate_database(name: str) -> str:
    """Drop and create database `name` on the server; returns its URL."""
    import psycopg

    base = server_url()
    with psycopg.connect(libpq_url(with_database(base, "postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(base, name)


def drop_database(name: str) -> None:
    import psycopg
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()
    with psycopg.connect(libpq_url(with_database(server_url(), "postgres")), autocommit=True) as conn:
        # Refuse new connections first: a worker still looping would otherwise reconnect
        # between FORCE's termination of sessions and the drop itself.
        try:
            conn.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        except psycopg.Error:
            pass  # missing database or not allowed: the drop below still applies
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def private_task_queue() -> dict[str, str]:
    """Environment that sends the Celery tasks a benchmark triggers (e.g. cancel_checkout's
    PaymentIntent clean-up) to a throw-away folder broker, never to the shared .run/ folder
    or a REDIS_URL queue, where a worker would later run thousands of them. Enqueuing
    still costs what it costs in production (one message written per task)."""
    import atexit
    import tempfile

    folder = tempfile.mkdtemp(prefix="bench-celery-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return {"REDIS_URL": "", "CELERY_FILESYSTEM_BROKER_DIR": folder}


def setup_django(database_url: str, settings_module: str = "shop.settings") -> None:
    """Point Django at `database_url` (through DATABASE_URL, as production does) and set it
    up, with a private task queue."""
    os.environ.update(private_task_queue())
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def find_pgbench() -> str | None:
    """pgbench of the pgserver wheel (same major version as its server), else one on PATH."""
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    return shutil.which("pgbench")


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM (e.g. `timeout`) unwinds like Ctrl-C, so `finally` blocks stop servers and drop databases."""
    import signal

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def machine_load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on the loopback interface now (for a server the bench starts)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_http(url: str, *, timeout: float = 60, process: subprocess.Popen | None = None) -> None:
    """Wait until `url` answers at all (any HTTP status); fail if `process` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except (urllib.error.URLError, OSError):
            if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up") from None
            time.sleep(0.1)
