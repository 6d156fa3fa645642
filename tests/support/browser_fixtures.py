"""Fixtures for browser tests: the payment tests' localstripe (tests/support/stripe_fixtures.py)
serving Stripe.js to the page as well, and Debian's chromium driven by Playwright.

Playwright's sync API keeps an asyncio loop registered on the main thread while a
browser is open, and Django refuses database calls from there; so the browser is
function-scoped (opened after the test database, closed before it is flushed) and the
tests read the database through `off_loop`.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from django.db import connections

from tests.support.stripe_fixtures import Emulator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
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


@pytest.fixture
def browser_stripe(stripe_webhooks: Emulator, settings) -> Emulator:
    """The payment tests' localstripe (tests/support/stripe_fixtures.py) with its webhooks sent to
    the live server, and the page's Stripe.js loaded from it too."""
    settings.STRIPE_JS_URL = f"{stripe_webhooks.url}/js.stripe.com/v3/"
    return stripe_webhooks


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
