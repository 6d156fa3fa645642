"""localstripe for the payment tests: started once per session on a free port, its state
cleared before each test, the shop's settings and the SDK pointed at it.

Registered for the whole suite in tests/conftest.py.

- `localstripe_url` (session): the emulator's base URL.
- `stripe_emulator`: an `Emulator` for one test: settings pointed at localstripe with a
  fresh webhook secret, helpers to make payment methods, finish 3-D Secure, sign events.
  (The fresh secret alone does not stop a late event of an earlier test: localstripe
  signs each event when it sends it, with the secret registered then. See below.)
- `stripe_webhooks`: as `stripe_emulator`, with localstripe's webhooks sent to Django's
  live server (needs `@pytest.mark.django_db(transaction=True)`); unregistered after.
  Events of earlier tests still on their way are drained first (`Emulator.drain_webhooks`).
"""
from __future__ import annotations

import json
import secrets
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import stripe

from tests.support.net import HOST, free_port
from tests.support.waiting import wait_until
from tests.support.shipping import rest_of_world

__all__ = ["Emulator", "localstripe_url", "stripe_emulator", "stripe_webhooks"]

LOCALSTRIPE = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "localstripe"
SECRET_KEY = "sk_test_emulated"
WEBHOOK_ID = "shop-tests"
WEBHOOK_PATH = "/api/v1/webhooks/stripe/"
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"
CARD_3DS = "4000002760003184"


def _http(method: str, url: str, data: dict[str, Any] | None = None, timeout: float = 10.0, headers: dict[str, str] | None = None) -> bytes:
    body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def _answers(url: str, process: subprocess.Popen, log_path: Path) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"localstripe exited with {process.returncode}; see {log_path}")
    try:
        _http("GET", f"{url}/js.stripe.com/v3/", timeout=2)
    except (urllib.error.URLError, ConnectionError, OSError):
        return False
    return True


# --- draining localstripe's webhooks -------------------------------------------------------
#
# localstripe (webhooks.py) sends each event from its own asyncio task: the task sleeps 1 s
# after the event happens, then reads the endpoint registered *at that moment* (url and
# secret: the signature is made then, with that secret) and posts the event there. So an
# event of an earlier test that is still sleeping when a test registers its live server
# reaches that live server, correctly signed with the new test's secret.
#
# The sleeps end in the order they started (one event loop, timers ordered by deadline),
# and a task reads the endpoint as soon as its sleep ends, before it awaits anything. So:
# point the webhooks (one endpoint id, WEBHOOK_ID) at a throw-away listener, cause one
# event of our own (a "marker" customer) and wait until the listener receives it. When the
# marker arrives, every event caused before it has already been addressed to the
# listener; only then is the real endpoint registered. No fixed delay: the wait ends when
# the marker arrives (about 1 s) and fails after a deadline; should a marker's delivery
# get lost, another one follows.

DRAIN_TIMEOUT = 60.0
MARKER_EVERY = 5.0  # seconds before another marker is sent, should one get lost


class _WebhookInbox(ThreadingHTTPServer):
    """A local HTTP listener that accepts every webhook and remembers the ids of the
    objects of the events it received."""

    daemon_threads = True
    request_queue_size = 128  # a burst of earlier tests' events must not be refused

    def __init__(self) -> None:
        self.object_ids: set[str] = set()
        self.lock = threading.Lock()
        super().__init__((HOST, 0), _InboxHandler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"

    def received(self, object_id: str) -> bool:
        with self.lock:
            return object_id in self.object_ids

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=10)


class _InboxHandler(BaseHTTPRequestHandler):
    server: _WebhookInbox

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            object_id = json.loads(body)["data"]["object"]["id"]
        except (ValueError, KeyError, TypeError):
            object_id = None
        if object_id:
            with self.server.lock:
                self.server.object_ids.add(object_id)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


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
    url = f"http://{HOST}:{port}"
    try:
        wait_until(lambda: _answers(url, process, log_path), timeout=30, interval=0.1, what=f"localstripe to start; see {log_path}")
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
        _http("POST", f"{self.url}/_config/webhooks/{WEBHOOK_ID}", {"url": f"http://{HOST}:{free_port()}/", "secret": "whsec_nobody"})

    def drain_webhooks(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Return once every event localstripe made so far has been sent, to a throw-away
        listener (see the comment above `_WebhookInbox`). Leaves the webhooks pointed at
        that (closed) listener: call `send_webhooks_to` next."""
        inbox = _WebhookInbox()
        try:
            _http("POST", f"{self.url}/_config/webhooks/{WEBHOOK_ID}", {"url": inbox.url, "secret": "whsec_nobody"})
            markers: list[str] = []
            sent_at = 0.0

            def marker_arrived() -> bool:
                nonlocal sent_at
                if any(inbox.received(marker) for marker in markers):
                    return True
                if time.monotonic() - sent_at >= MARKER_EVERY:
                    markers.append(self._marker_event())
                    sent_at = time.monotonic()
                return False

            wait_until(marker_arrived, timeout=timeout, interval=0.05, what="localstripe to send its pending webhooks (a marker event)")
        finally:
            inbox.close()

    def _marker_event(self) -> str:
        """Make localstripe emit an event (customer.created); the customer's id."""
        body = _http(
            "POST",
            f"{self.url}/v1/customers",
            {"description": f"webhook drain marker {secrets.token_hex(4)}"},
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
        )
        return json.loads(body)["id"]

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
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_emulated"
    settings.STRIPE_WEBHOOK_SECRET = emulator.webhook_secret
    settings.STRIPE_MAX_NETWORK_RETRIES = 0  # the SDK would retry 5xx answers
    settings.STRIPE_TIMEOUT_SECONDS = 10.0
    settings.STRIPE_CAPTURE_METHOD = "automatic"
    saved = (stripe.api_base, stripe.api_key, stripe.max_network_retries)
    stripe.api_base, stripe.api_key, stripe.max_network_retries = localstripe_url, SECRET_KEY, 0
    try:
        yield emulator
    finally:
        stripe.api_base, stripe.api_key, stripe.max_network_retries = saved


@pytest.fixture
def stripe_webhooks(stripe_emulator, live_server) -> Iterator[Emulator]:
    # localstripe sends each event about 1 s after it happens, to whatever endpoint is
    # registered then: let events of earlier tests go out to nobody before we listen
    # (to a throw-away listener, until an event made now has arrived there).
    stripe_emulator.drain_webhooks()
    stripe_emulator.clear()  # the marker too: the test starts with an empty emulator
    stripe_emulator.send_webhooks_to(f"{live_server.url}{WEBHOOK_PATH}")
    try:
        yield stripe_emulator
    finally:
        stripe_emulator.stop_webhooks()


# --- a cart ready to pay --------------------------------------------------------------

ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}


def start_paying(api, cart_id: Any, *, email: str = "ada@example.com", shipping_method: str | None = None) -> dict[str, Any]:
    """Through the API as a shopper would: start checkout, give email and address (the
    shop ships everywhere: a rest-of-world zone)."""
    rest_of_world()
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

    rest_of_world()  # the shop ships everywhere

    def make(lines, **kwargs):
        cart = make_cart(lines)
        start_paying(api, cart.pk, **kwargs)
        cart.refresh_from_db()
        return cart

    return make


__all__ += ["ADDRESS", "CARD_OK", "CARD_DECLINED", "CARD_3DS", "WEBHOOK_PATH", "SECRET_KEY", "start_paying", "ready_cart"]
