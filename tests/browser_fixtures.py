"""Fixtures for browser tests: localstripe, the shop's settings pointed at it with its
webhooks sent to Django's live server, and Debian's chromium driven by Playwright.

Playwright's sync API keeps an asyncio loop registered on the main thread while a
browser is open, and Django refuses database calls from there; so the browser is
function-scoped (opened after the test database, closed before it is flushed) and the
tests read the database through `off_loop`.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WEBHOOK_PATH = "/api/v1/webhooks/stripe/"
WEBHOOK_SECRET = "whsec_browser_tests"
SHOTS = Path("/tmp/shots")

T = TypeVar("T")


def off_loop(fn: Callable[[], T]) -> T:
    """Run a database read in a thread of its own (see the module docstring)."""

    def run() -> T:
        try:
            return fn()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(method: str, url: str, data: dict[str, str] | None = None) -> None:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    urllib.request.urlopen(urllib.request.Request(url, data=body, method=method), timeout=5).read()


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    """A localstripe of the tests' own, on a free port, for the whole session."""
    port = _free_port()
    executable = Path(sys.executable).with_name("localstripe")
    process = subprocess.Popen(
        [str(executable), "--port", str(port), "--from-scratch"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"localstripe did not start on port {port}")
            time.sleep(0.1)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def emulated_stripe(localstripe_url: str, live_server, settings) -> Iterator[str]:
    """The shop talking to a clean localstripe whose signed webhooks reach the live server."""
    _request("DELETE", f"{localstripe_url}/_config/data")
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_JS_URL = f"{localstripe_url}/js.stripe.com/v3/"
    settings.STRIPE_SECRET_KEY = "sk_test_browser"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_browser"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    _request(
        "POST",
        f"{localstripe_url}/_config/webhooks/shop",
        {"url": f"{live_server.url}{WEBHOOK_PATH}", "secret": WEBHOOK_SECRET},
    )
    yield localstripe_url
    # localstripe sends its events about a second after a payment: let them land in this
    # test's database rather than in the next test's.
    time.sleep(1.5)


@pytest.fixture
def chromium(transactional_db):
    """Debian's chromium, headless. Requests the database first so that it is closed
    before the database is flushed."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
