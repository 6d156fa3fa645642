"""localstripe for the payment tests: started once per session on a free port, its state
cleared before each test, the shop's settings and the SDK pointed at it.

Registered for the whole suite in tests/conftest.py.

- `localstripe_url` (session): the emulator's base URL.
- `stripe_emulator`: an `Emulator` for one test: settings pointed at localstripe with a
  fresh webhook secret (so a late webhook of an earlier test fails its signature and
  changes nothing), helpers to make payment methods, finish 3-D Secure, sign events.
- `stripe_webhooks`: as `stripe_emulator`, with localstripe's webhooks sent to Django's
  live server (needs `@pytest.mark.django_db(transaction=True)`); unregistered after.
"""
from __future__ import annotations

import json
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

__all__ = ["Emulator", "localstripe_url", "stripe_emulator", "stripe_webhooks", "wait_for", "free_port"]

LOCALSTRIPE = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "localstripe"
WEBHOOK_ID = "shop-tests"
WEBHOOK_PATH = "/api/v1/webhooks/stripe/"
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"
CARD_3DS = "4000002760003184"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.1, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _http(method: str, url: str, data: dict[str, Any] | None = None, timeout: float = 10.0) -> bytes:
    body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


WEBHOOK_DELAY_SECONDS = 1.5


@pytest.fixture(scope="session")
def localstripe_url(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(LOCALSTRIPE), "--port", str(port), "--from-scratch"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=log_path.parent,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _http("GET", f"{url}/js.stripe.com/v3/", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"localstripe did not start; see {log_path}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class Emulator:
    """One test's view of localstripe."""

    def __init__(self, url: str, webhook_secret: str):
        self.url = url
        self.webhook_secret = webhook_secret

    def clear(self) -> None:
        _http("DELETE", f"{self.url}/_config/data")

    def send_webhooks_to(self, url: str) -> None:
        _http("POST", f"{self.url}/_config/webhooks/{WEBHOOK_ID}", {"url": url, "secret": self.webhook_secret})

    def stop_webhooks(self) -> None:
        # localstripe cannot unregister: point the hook at a closed port, with a secret
        # no test uses, so late events of this test reach no one.
        _http("POST", f"{self.url}/_config/webhooks/{WEBHOOK_ID}", {"url": f"http://127.0.0.1:{free_port()}/", "secret": "whsec_nobody"})

    def payment_method(self, number: str = CARD_OK) -> str:
        """A card PaymentMethod, as Stripe.js would make one in the browser."""
        pm = stripe.PaymentMethod.create(type="card", card={"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"})
        return pm.id

    def authenticate(self, payment_intent_id: str, client_secret: str, *, success: bool) -> dict[str, Any]:
        """Finish 3-D Secure as the shopper's bank page would (localstripe's hook)."""
        body = _http(
            "POST",
            f"{self.url}/v1/payment_intents/{payment_intent_id}/_authenticate?success={'true' if success else 'false'}",
            {"client_secret": client_secret, "key": "pk_test_emulated"},
        )
        return json.loads(body)

    def confirm_directly(self, payment_intent_id: str, number: str = CARD_OK) -> stripe.PaymentIntent:
        """Confirm an intent at Stripe without the shop (as Stripe.js's confirmCardPayment
        would): the shop learns of it only through the webhook."""
        pm = self.payment_method(number)
        stripe.PaymentIntent.modify(payment_intent_id, payment_method=pm)
        return stripe.PaymentIntent.confirm(payment_intent_id)

    def events(self, event_type: str) -> list[dict[str, Any]]:
        return [event.to_dict() for event in stripe.Event.list(type=event_type).data]

    def sign(self, payload: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
        return stripe.WebhookSignature.generate_signature_header(payload.decode(), secret or self.webhook_secret, timestamp)

    @staticmethod
    def event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> bytes:
        """A Stripe event body around `obj`."""
        return json.dumps(
            {
                "id": event_id or f"evt_{secrets.token_hex(8)}",
                "object": "event",
                "type": event_type,
                "created": int(time.time()),
                "livemode": False,
                "api_version": "2024-06-20",
                "data": {"object": obj},
            },
            sort_keys=True,
        ).encode()


@pytest.fixture
def stripe_emulator(localstripe_url, settings) -> Iterator[Emulator]:
    emulator = Emulator(localstripe_url, f"whsec_{secrets.token_hex(16)}")
    emulator.clear()
    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_emulated"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_emulated"
    settings.STRIPE_WEBHOOK_SECRET = emulator.webhook_secret
    settings.STRIPE_MAX_NETWORK_RETRIES = 0  # the SDK would retry 5xx answers
    settings.STRIPE_TIMEOUT_SECONDS = 10.0
    settings.STRIPE_CAPTURE_METHOD = "automatic"
    saved = (stripe.api_base, stripe.api_key, stripe.max_network_retries)
    stripe.api_base, stripe.api_key, stripe.max_network_retries = localstripe_url, "sk_test_emulated", 0
    try:
        yield emulator
    finally:
        stripe.api_base, stripe.api_key, stripe.max_network_retries = saved


@pytest.fixture
def stripe_webhooks(stripe_emulator, live_server) -> Iterator[Emulator]:
    # localstripe sends each event about 1 s after it happens, to whatever endpoint is
    # registered then: let events of earlier tests go out to nobody before we listen.
    time.sleep(WEBHOOK_DELAY_SECONDS)
    stripe_emulator.send_webhooks_to(f"{live_server.url}{WEBHOOK_PATH}")
    try:
        yield stripe_emulator
    finally:
        stripe_emulator.stop_webhooks()


# --- a cart ready to pay --------------------------------------------------------------

ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}


def start_paying(api, cart_id: Any, *, email: str = "ada@example.com", shipping_method: str | None = None) -> dict[str, Any]:
    """Through the API as a shopper would: start checkout, give email and address."""
    response = api.post(f"/api/v1/carts/{cart_id}/checkout/")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = {"email": email, "shipping_address": ADDRESS}
    if shipping_method:
        body["shipping_method"] = shipping_method
    response = api.patch(f"/api/v1/carts/{cart_id}/checkout/", body)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def ready_cart(make_variant, make_cart, api):
    """ready_cart({variant: qty}) -> Cart in checkout with email and address, via the API."""

    def make(lines, **kwargs):
        cart = make_cart(lines)
        start_paying(api, cart.pk, **kwargs)
        cart.refresh_from_db()
        return cart

    return make


__all__ += ["ADDRESS", "CARD_OK", "CARD_DECLINED", "CARD_3DS", "start_paying", "ready_cart"]
