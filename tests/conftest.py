"""The common world of the tests: a catalog with stock, carts, an API client."""
from __future__ import annotations

import json
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from moneyed import Money

from cart import services as cart_services
from catalog.models import Product, Variant
from inventory import services as inventory
from inventory.models import StockMovement

# Fixtures shared by many modules (exchange rates, the Stripe emulator, the browser, the
# shop's pages), registered once here so a run starts one localstripe for the whole session.
pytest_plugins = [
    "tests.support.rates",
    "tests.support.stripe_fixtures",
    "tests.support.browser_fixtures",
    "tests.support.pages",
    "tests.support.admin",
    "tests.support.orders",
]

E2E_DIR = Path(__file__).resolve().parent / "e2e"

_seq = count(1)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Everything under tests/e2e/ starts other processes or servers (gunicorn, a Celery
    worker, localstripe's webhooks to a live server): marked `e2e`. A test driving
    Chromium is marked `browser` too. `pytest -m "not e2e"` runs the fast suite."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rates, throttles and sessions live in the cache: every test starts with it empty."""
    from django.core.cache import cache, caches

    for each in (cache, caches["fragments"]):
        each.clear()
    yield
    cache.clear()


@pytest.fixture
def make_variant(db):
    """make_variant(sku=..., price="10.00", on_hand=10, threshold=3) -> Variant with stock
    set through a ledger movement."""

    def make(sku: str | None = None, *, price: str = "10.00", on_hand: int = 10, threshold: int = 3, product: Product | None = None, **attributes: Any) -> Variant:
        n = next(_seq)
        sku = sku or f"SKU-{n}"
        if product is None:
            product = Product.objects.create(slug=f"product-{n}", name=f"Product {n}")
        variant = Variant.objects.create(product=product, sku=sku, price=Money(Decimal(price), "USD"), attributes=attributes)
        inventory.set_low_stock_threshold(variant_id=variant.pk, threshold=threshold)
        if on_hand:
            inventory.adjust(variant_id=variant.pk, delta=on_hand, reason=StockMovement.Reason.RECEIVED)
        return variant

    return make


@pytest.fixture
def make_cart(db):
    """make_cart({variant: quantity, ...}, currency="USD") -> Cart with those lines."""

    def make(lines: dict[Variant, int] | None = None, currency: str = "USD"):
        cart = cart_services.create_cart(currency=currency)
        for variant, quantity in (lines or {}).items():
            cart_services.add_line(cart_id=cart.pk, sku=variant.sku, quantity=quantity)
        cart.refresh_from_db()
        return cart

    return make


class JsonClient(Client):
    """Django's test client speaking JSON, as API users do."""

    def _json(self, method: str, path: str, data: Any = None, **extra):
        body = json.dumps(data) if data is not None and not isinstance(data, (str, bytes)) else data
        return getattr(super(), method)(path, body, content_type="application/json", **extra)

    def post(self, path, data=None, **extra):  # type: ignore[override]
        return self._json("post", path, data, **extra)

    def patch(self, path, data=None, **extra):  # type: ignore[override]
        return self._json("patch", path, data, **extra)

    def put(self, path, data=None, **extra):  # type: ignore[override]
        return self._json("put", path, data, **extra)

    def delete(self, path, data=None, **extra):  # type: ignore[override]
        return self._json("delete", path, data, **extra)


@pytest.fixture
def api(db) -> JsonClient:
    return JsonClient()
