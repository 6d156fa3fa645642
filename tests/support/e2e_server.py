"""The shop served by a real gunicorn for the end-to-end tests: DEBUG off, its own
SECRET_KEY and ALLOWED_HOSTS, static files collected into a temporary STATIC_ROOT and
served by whitenoise, and the pytest test database reached through DATABASE_URL as
production reaches its database."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import requests

from tests.support.database import database_url
from tests.support.net import HOST, free_port
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
READY_PATH = "/api/v1/currencies/"
ACCESS_LOG_FORMAT = "%(p)s %(m)s %(U)s %(s)s"  # worker pid, method, path, status


class AccessLine(NamedTuple):
    worker_pid: int
    method: str
    path: str
    status: int


def server_environment(*, database: dict[str, Any], static_root: Path) -> dict[str, str]:
    """What a production host sets, and nothing of the test settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="shop.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url(database),
        CELERY_TASK_ALWAYS_EAGER="1",
        STATIC_ROOT=str(static_root),
        # Each test stores its own rates after the previous test's were flushed; a worker
        # must not answer from a rate table it cached for an earlier test.
        RATES_CACHE_SECONDS="0",
        LOG_LEVEL="WARNING",
        # Plain http on loopback: production's https redirect and https-only cookies off.
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        # One test client starts many checkouts from one address: the per-client limit off.
        CHECKOUT_START_RATE_LIMIT="",
    )
    # The embedded defaults: a per-process cache (as `make run`), and no Stripe, so the
    # payment step answers 502 payment_provider_unavailable without any network call.
    for key in ("REDIS_URL", "STRIPE_API_BASE", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "EMAIL_URL"):
        env.pop(key, None)
    return env


def collect_static(env: dict[str, str]) -> None:
    """collectstatic with the server's own settings (DEBUG off: the manifest storage)."""
    done = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"collectstatic failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


class Gunicorn:
    """`gunicorn shop.wsgi` on a free loopback port, as a separate process group."""

    def __init__(self, *, env: dict[str, str], workers: int, log_dir: Path) -> None:
        self.port = free_port()
        self.log_path = log_dir / "gunicorn.log"
        self.access_log_path = log_dir / "access.log"
        self._log = open(self.log_path, "w")
        executable = Path(sys.executable).parent / "gunicorn"
        self.process = subprocess.Popen(
            [str(executable), "shop.wsgi", "--workers", str(workers), "--bind", f"{HOST}:{self.port}",
             "--timeout", "30", "--graceful-timeout", "5", "--log-level", "warning",
             # One line per request naming the worker that served it.
             "--access-logfile", str(self.access_log_path), "--access-logformat", ACCESS_LOG_FORMAT],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")

    def served(self) -> list[AccessLine]:
        """Every request served so far, in the order the workers logged them."""
        lines = []
        for raw in self.access_log_path.read_text().splitlines():
            pid, method, path, status = raw.split(" ")
            lines.append(AccessLine(int(pid.strip("<>")), method, path, int(status)))
        return lines

    def wait_ready(self, timeout: float = 30.0) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                return requests.get(self.base_url + READY_PATH, timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(answers, timeout=timeout, interval=0.2, what=lambda: f"gunicorn to answer:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # the master stops its workers gracefully
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


# --- what every API answer must look like -------------------------------------------------

def json_body(response: requests.Response, status: int) -> Any:
    """The JSON body of an API answer with this status (and Content-Type application/json)."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers.get("Content-Type", "").split(";")[0] == "application/json", response.headers
    return response.json()


def error_of(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    """docs/api.md's error shape, exactly: {"error": {"code", "message", "details"}}."""
    body = json_body(response, status)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    assert isinstance(error["details"], dict), error
    return error


def money(amount: str, currency: str) -> dict[str, str]:
    return {"amount": amount, "currency": currency}


class HttpClient(requests.Session):
    """An outside client of the server: paths are relative to its base URL, every request
    has a timeout, cookies persist as in a browser."""

    def __init__(self, base_url: str, timeout: float = 20.0) -> None:
        super().__init__()
        self.base_url = base_url
        self.timeout = timeout

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, self.base_url + url if url.startswith("/") else url, *args, **kwargs)


# --- a real Celery worker (with beat) beside the server ------------------------------------

def worker_environment(env: dict[str, str], *, broker_dir: Path) -> dict[str, str]:
    """`env` for processes that queue tasks to a real worker instead of running them
    eagerly: Redis when REDIS_URL is set in the environment, else the embedded
    file-system broker in `broker_dir` (the web processes and the worker must share it)."""
    env = {**env, "CELERY_TASK_ALWAYS_EAGER": "0", "CELERY_FILESYSTEM_BROKER_DIR": str(broker_dir)}
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


class CeleryWorker:
    """`celery -A shop worker --beat` as a separate process group, logging every task it
    receives and finishes."""

    READY_SIGN = " ready."

    def __init__(self, *, env: dict[str, str], log_dir: Path, concurrency: int = 1) -> None:
        self.log_path = log_dir / "celery.log"
        self._log = open(self.log_path, "w")
        executable = Path(sys.executable).parent / "celery"
        self.process = subprocess.Popen(
            [str(executable), "-A", "shop", "worker", "--beat", "--loglevel=INFO",
             f"--concurrency={concurrency}", f"--hostname=e2e-{secrets.token_hex(4)}@%h",
             f"--schedule={log_dir / 'celerybeat-schedule'}", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env={**env, "LOG_LEVEL": "INFO"}, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {self.process.returncode}:\n{self.log_text()[-4000:]}")
            return self.READY_SIGN in self.log_text()

        wait_until(ready, timeout=timeout, interval=0.2, what=lambda: f"the Celery worker to be ready:\n{self.log_text()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: running tasks finish
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
