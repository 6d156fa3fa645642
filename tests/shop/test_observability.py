"""Observability: request ids and structured, redacted logs; Prometheus metrics counted by
the services that own each event; health and readiness probes; optional Sentry."""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from shop import health
from shop.logging import (
    ContextFilter,
    RedactingFilter,
    ReadableFormatter,
    _add_request_id_header,
    _enter_task,
    _leave_task,
    current_context,
    json_formatter,
    log_scope,
    logging_config,
    redact_text,
)
from tests.support.api_helpers import assert_error
from tests.support.net import free_port
from tests.support.stripe_fixtures import CARD_DECLINED, CARD_OK, start_paying

ROOT = Path(__file__).resolve().parents[2]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def family_total(name: str) -> float:
    """Sum of every labelled sample of a counter (its `_total` samples)."""
    return sum(
        s.value for metric in REGISTRY.collect() for s in metric.samples if s.name == name
    )


class CapturedLogs:
    """The shop's real pipeline (context + redaction filters, JSON formatter) into a buffer."""

    def __init__(self, formatter: logging.Formatter | None = None):
        self.buffer = io.StringIO()
        self.handler = logging.StreamHandler(self.buffer)
        self.handler.addFilter(ContextFilter())
        self.handler.addFilter(RedactingFilter())
        self.handler.setFormatter(formatter or json_formatter())

    def __enter__(self) -> CapturedLogs:
        root = logging.getLogger()
        self.level = root.level
        root.addHandler(self.handler)
        root.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.level)

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


# --- request ids and logs -------------------------------------------------------------


def test_every_response_has_a_request_id_and_a_sane_one_is_kept(api):
    first = api.get("/healthz")
    assert len(first["X-Request-ID"]) == 32
    assert api.get("/healthz")["X-Request-ID"] != first["X-Request-ID"]
    assert api.get("/healthz", HTTP_X_REQUEST_ID="lb-1234abcd")["X-Request-ID"] == "lb-1234abcd"
    # An id that could forge log lines or flood them is replaced.
    for bad in ("abc\ninjected", "x" * 200, "short", "a b c d e f g h"):
        answered = api.get("/healthz", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
        assert answered != bad and len(answered) == 32


def test_request_log_lines_carry_request_and_cart_ids_in_json(api, make_variant, make_cart):
    cart = make_cart({make_variant(on_hand=5): 1})
    with CapturedLogs() as logs:
        response = api.get(f"/api/v1/carts/{cart.pk}/", HTTP_X_REQUEST_ID="req-abcdef12")
    assert response.status_code == 200
    lines = [r for r in logs.records() if r["logger"] == "shop.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "req-abcdef12" and line["cart_id"] == str(cart.pk)
    assert line["status"] == 200 and line["level"] == "INFO" and line["duration_ms"] >= 0
    assert "api:cart-detail" in line["message"] and str(cart.pk) not in line["message"]  # route name, not the path
    assert {"time", "level", "logger", "message"} <= set(line)


def test_a_paid_checkout_logs_its_order_and_payment_ids_and_never_card_data(api, stripe_emulator, make_variant, make_cart):
    cart = make_cart({make_variant(price="25.00", on_hand=3): 1})
    start_paying(api, cart.pk)
    pm = stripe_emulator.payment_method(CARD_OK)
    with CapturedLogs() as logs:
        response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": pm})
    assert response.status_code == 200, response.content
    body = response.json()
    created = [r for r in logs.records() if r["message"].startswith("order ")]
    assert created and created[0]["order"] == body["cart"]["order"]["number"]
    assert created[0]["payment_intent"] == body["payment_intent_id"]
    assert created[0]["cart_id"] == str(cart.pk)
    assert CARD_OK not in logs.text and body["client_secret"] not in logs.text
    assert stripe_emulator_secret_key() not in logs.text


def stripe_emulator_secret_key() -> str:
    from django.conf import settings

    return settings.STRIPE_SECRET_KEY


def test_the_redacting_filter_blanks_secrets_in_fields_messages_and_tracebacks():
    log = logging.getLogger("tests.redaction")
    with CapturedLogs() as logs:
        log.warning(
            "paying with 4242 4242 4242 4242 key sk_live_abcDEF123 hook whsec_zzz999 secret pi_123_secret_456 "
            "password=hunter2 {'cvc': '123'} order ORD-2026-00123 at 1767225600",
            extra={
                "card": {"number": "4242424242424242", "exp_month": 12},
                "headers": {"Authorization": "Bearer tok_live", "Accept": "json"},
                "payload": {"data": {"object": {"payment_method_details": {"card": {"last4": "4242"}}, "client_secret": "pi_9_secret_9"}}},
                "attempt": 2,
            },
        )
        try:
            raise ValueError("card 4000000000000341 refused, api_key=abc123")
        except ValueError:
            log.exception("failed")
    text = logs.text
    for secret in ("4242 4242 4242 4242", "4242424242424242", "sk_live_abcDEF123", "whsec_zzz999", "_secret_456",
                   "hunter2", "'123'", "tok_live", "pi_9_secret_9", "4000000000000341", "abc123"):
        assert secret not in text, secret
    first, second = logs.records()
    assert "[card ****4242]" in first["message"] and "pi_123_secret_[redacted]" in first["message"]
    assert "ORD-2026-00123" in first["message"] and "1767225600" in first["message"]  # ids and times stay
    assert first["card"] == "[redacted]" and first["attempt"] == 2
    assert first["headers"] == {"Authorization": "[redacted]", "Accept": "json"}
    assert first["payload"]["data"]["object"]["payment_method_details"] == {"card": "[redacted]"}
    assert first["payload"]["data"]["object"]["client_secret"] == "[redacted]"
    assert "ValueError" in second["exc_info"] and "[card ****0341]" in second["exc_info"]


def test_redact_text_leaves_numbers_that_are_not_card_numbers():
    # 16 digits failing the Luhn check, an order number, a Stripe id: kept.
    assert redact_text("ref 1234567812345678 ORD-2026-00001 pi_3Nabc") == "ref 1234567812345678 ORD-2026-00001 pi_3Nabc"


def test_plain_format_for_development_is_one_readable_line_with_the_ids():
    formatter = ReadableFormatter()
    with CapturedLogs(formatter) as logs, log_scope(request_id="r1234567", cart_id="c-1"):
        logging.getLogger("tests.plain").info("checkout started")
    line = logs.text.strip()
    assert line.endswith("INFO tests.plain checkout started [request_id=r1234567 cart_id=c-1]")
    assert "\n" not in line


def test_logging_config_chooses_the_format_and_refuses_others():
    assert logging_config(log_format="json")["handlers"]["console"]["formatter"] == "json"
    assert logging_config(log_format="plain")["handlers"]["console"]["formatter"] == "plain"
    assert logging_config(log_format="json")["handlers"]["console"]["stream"] == "ext://sys.stdout"
    with pytest.raises(ValueError):
        logging_config(log_format="xml")


def _django_log_line(**env: str) -> str:
    code = (
        "import django, logging; django.setup(); from django.conf import settings; "
        "logging.getLogger('shop.probe').warning('probe password=s3cret'); print('FORMAT', settings.LOG_FORMAT)"
    )
    environment = {k: v for k, v in os.environ.items() if k not in ("LOG_FORMAT", "DEBUG", "SENTRY_DSN")}
    environment.update({"DJANGO_SETTINGS_MODULE": "shop.settings", **env})
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_production_logs_json_to_stdout_and_development_readable_lines():
    production = _django_log_line(DEBUG="0")
    line = json.loads(production.splitlines()[0])
    assert line["logger"] == "shop.probe" and line["level"] == "WARNING" and "s3cret" not in line["message"]
    assert "FORMAT json" in production
    development = _django_log_line(DEBUG="1")
    assert development.splitlines()[0].endswith("WARNING shop.probe probe password=[redacted]")
    assert "FORMAT plain" in development
    assert "FORMAT plain" in _django_log_line(DEBUG="0", LOG_FORMAT="plain")


def test_tasks_carry_the_request_id_of_the_request_that_queued_them():
    headers: dict = {}
    with log_scope(request_id="req-queued-1"):
        _add_request_id_header(headers=headers)
    assert headers == {"request_id": "req-queued-1"}

    class Task:
        name = "inventory.tasks.expire_reservations"

        class request:  # noqa: N801 - Celery's attribute name
            request_id = "req-queued-1"

    _enter_task(task_id="t-1", task=Task)
    assert current_context() == {"task_id": "t-1", "task": Task.name, "request_id": "req-queued-1"}
    _leave_task(task_id="t-1")
    assert current_context() == {}


# --- metrics --------------------------------------------------------------------------


def test_a_paid_checkout_counts_reservations_starts_completions_and_latency(
    api, stripe_emulator, make_variant, make_cart, django_capture_on_commit_callbacks
):
    variant = make_variant(price="25.00", on_hand=5)
    cart = make_cart({variant: 2})
    before = {
        "created": sample("shop_reservation_units_total", event="created"),
        "committed": sample("shop_reservation_units_total", event="committed"),
        "starts": sample("shop_checkout_starts_total"),
        "ok": sample("shop_checkout_completions_total", outcome="ok"),
        "latency": sample("shop_http_request_duration_seconds_count", route="api:cart-payment", method="POST"),
    }
    with django_capture_on_commit_callbacks(execute=True):  # counted once their transaction commits
        start_paying(api, cart.pk)
        response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method(CARD_OK)})
    assert response.status_code == 200, response.content
    assert sample("shop_reservation_units_total", event="created") - before["created"] == 2
    assert sample("shop_reservation_units_total", event="committed") - before["committed"] == 2
    assert sample("shop_checkout_starts_total") - before["starts"] == 1
    assert sample("shop_checkout_completions_total", outcome="ok") - before["ok"] == 1
    assert sample("shop_http_request_duration_seconds_count", route="api:cart-payment", method="POST") - before["latency"] == 1

    text = api.get("/metrics").content.decode()
    assert 'shop_http_request_duration_seconds_bucket{le="0.005",method="POST",route="api:cart-payment"}' in text
    assert str(cart.pk) not in text  # routes by name, never a path with an id


def test_a_declined_card_counts_a_payment_failure_by_reason(api, stripe_emulator, make_variant, make_cart):
    cart = make_cart({make_variant(on_hand=5): 1})
    start_paying(api, cart.pk)
    before = family_total("shop_payment_failures_total")
    response = api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method(CARD_DECLINED)})
    error = assert_error(response, 402, "payment_failed")
    reason = error["details"].get("decline_code") or "other"
    assert family_total("shop_payment_failures_total") - before == 1
    assert sample("shop_payment_failures_total", reason=reason) >= 1


def test_out_of_stock_refusals_release_and_expiry_are_counted(api, make_variant, make_cart, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from inventory import services as inventory
    from inventory.models import Reservation

    variant = make_variant(on_hand=2)
    refused = sample("shop_out_of_stock_refusals_total", stage="cart")
    cart = api.post("/api/v1/carts/", {}).json()
    assert_error(api.post(f"/api/v1/carts/{cart['id']}/lines/", {"sku": variant.sku, "quantity": 3}), 409, "insufficient_stock")
    assert sample("shop_out_of_stock_refusals_total", stage="cart") - refused == 1

    released = sample("shop_reservation_units_total", event="released")
    one = make_cart({variant: 2})
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/v1/carts/{one.pk}/checkout/").status_code == 200
        assert api.delete(f"/api/v1/carts/{one.pk}/checkout/").status_code == 200
    assert sample("shop_reservation_units_total", event="released") - released == 2

    reserve_refused = sample("shop_out_of_stock_refusals_total", stage="reserve")
    two, three = make_cart({variant: 2}), make_cart({variant: 1})
    assert api.post(f"/api/v1/carts/{two.pk}/checkout/").status_code == 200
    assert_error(api.post(f"/api/v1/carts/{three.pk}/checkout/"), 409, "insufficient_stock")
    assert sample("shop_out_of_stock_refusals_total", stage="reserve") - reserve_refused == 1

    expired = sample("shop_reservation_units_total", event="expired")
    Reservation.objects.filter(holder_id=two.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert inventory.expire_reservations() == 2
    assert sample("shop_reservation_units_total", event="expired") - expired == 2


def test_webhook_outcomes_and_lag_are_counted(api, stripe_emulator):
    path = "/api/v1/webhooks/stripe/"
    counts = {o: sample("shop_webhook_events_total", outcome=o) for o in ("refused", "ignored", "duplicate")}
    lags = sample("shop_webhook_lag_seconds_count")

    payload = stripe_emulator.event("customer.created", {"id": "cus_metrics", "object": "customer"})
    bad = api.generic("POST", path, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=bad")
    assert bad.status_code == 400
    signed = {"HTTP_STRIPE_SIGNATURE": stripe_emulator.sign(payload)}
    assert api.generic("POST", path, payload, content_type="application/json", **signed).status_code == 200
    assert api.generic("POST", path, payload, content_type="application/json", **signed).status_code == 200

    assert sample("shop_webhook_events_total", outcome="refused") - counts["refused"] == 1
    assert sample("shop_webhook_events_total", outcome="ignored") - counts["ignored"] == 1
    assert sample("shop_webhook_events_total", outcome="duplicate") - counts["duplicate"] == 1
    assert sample("shop_webhook_lag_seconds_count") - lags == 2
    assert sample("shop_webhook_lag_seconds_bucket", le="86400.0") - lags >= 2


def test_refunds_are_counted_by_result(api, stripe_emulator, make_variant, make_cart):
    from orders.models import Order
    from payments import refunds

    cart = make_cart({make_variant(price="30.00", on_hand=2): 1})
    start_paying(api, cart.pk)
    assert api.post(f"/api/v1/carts/{cart.pk}/payment/", {"payment_method": stripe_emulator.payment_method(CARD_OK)}).status_code == 200
    order = Order.objects.get(cart_id=cart.pk)
    before = sample("shop_refunds_total", result="succeeded")
    refund = refunds.refund_order(order_id=order.pk, amount=None, reason="requested_by_customer")
    assert refund.status == "succeeded"
    assert sample("shop_refunds_total", result="succeeded") - before == 1


def test_metrics_shows_the_exchange_rates_age(api):
    from datetime import timedelta

    from django.utils import timezone

    from tests.support.rates import store_rates

    store_rates({"EUR": "0.9", "GBP": "0.8"}, now=timezone.now() - timedelta(hours=3))
    response = api.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    values = {}
    for line in response.content.decode().splitlines():
        if line.startswith(("shop_exchange_rates_refresh_age_seconds ", 'shop_exchange_rate_age_seconds{currency="EUR"}')):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    assert 3 * 3600 - 60 < values["shop_exchange_rates_refresh_age_seconds"] < 3 * 3600 + 60
    assert 3 * 3600 - 60 < values['shop_exchange_rate_age_seconds{currency="EUR"}'] < 3 * 3600 + 60


def test_metrics_can_be_restricted_to_scrapers_addresses(api, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert api.get("/metrics").status_code == 403
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "127.0.0.1"]
    assert api.get("/metrics").status_code == 200


# --- health and readiness -------------------------------------------------------------


def test_healthz_answers_while_the_process_runs(api):
    response = api.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_200_when_database_cache_and_broker_answer(api):
    response = api.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"database": "ok", "cache": "ok", "broker": "ok"}


def test_readyz_names_a_cache_and_broker_that_are_down(api, settings, monkeypatch):
    from shop.celery import app

    closed = free_port()
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"redis://127.0.0.1:{closed}/0"}}
    monkeypatch.setitem(app.conf, "broker_url", f"redis://127.0.0.1:{closed}/0")
    monkeypatch.setitem(app.conf, "broker_write_url", None)
    monkeypatch.setitem(app.conf, "broker_transport_options", {})
    started = time.monotonic()
    response = api.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "cache": "unavailable", "broker": "unavailable"}
    assert time.monotonic() - started < 5
    assert "redis" not in response.content.decode().lower()  # why is logged, not answered


def test_readyz_gives_up_on_a_part_that_hangs_within_the_timeout(api, settings, monkeypatch):
    settings.READINESS_TIMEOUT_SECONDS = 0.3
    monkeypatch.setitem(health.CHECKS, "database", lambda: time.sleep(3))
    started = time.monotonic()
    response = api.get("/readyz")
    assert time.monotonic() - started < 1.5
    assert response.status_code == 503
    assert response.json() == {"database": "unavailable", "cache": "ok", "broker": "ok"}


# --- Sentry ---------------------------------------------------------------------------


def test_sentry_is_off_without_a_dsn_and_keeps_personal_data_out_with_one():
    code = (
        "import django; django.setup(); import sentry_sdk; c = sentry_sdk.get_client(); "
        "print('ACTIVE', c.is_active(), 'PII', c.options.get('send_default_pii'), 'BODY', c.options.get('max_request_body_size'))"
    )
    environment = {k: v for k, v in os.environ.items() if k != "SENTRY_DSN"}
    environment["DJANGO_SETTINGS_MODULE"] = "shop.settings"
    off = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert "ACTIVE False" in off.stdout, off.stderr
    environment["SENTRY_DSN"] = f"http://public@127.0.0.1:{free_port()}/1"
    on = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60)
    assert "ACTIVE True PII False BODY never" in on.stdout, on.stderr


def test_sentry_events_lose_bodies_cookies_and_secret_headers():
    from shop.sentry import _scrub

    event = {
        "request": {"data": {"payment_method": "pm_1"}, "cookies": {"sessionid": "s"}, "headers": {"Authorization": "Bearer x", "Host": "shop"}},
        "extra": {"password": "p", "cart": "c-1"},
    }
    scrubbed = _scrub(event, {})
    assert "data" not in scrubbed["request"] and "cookies" not in scrubbed["request"]
    assert scrubbed["request"]["headers"] == {"Authorization": "[redacted]", "Host": "shop"}
    assert scrubbed["extra"] == {"password": "[redacted]", "cart": "c-1"}


def test_probes_answer_whatever_host_the_prober_uses(api, settings):
    settings.ALLOWED_HOSTS = ["shop.example.com"]
    assert api.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert api.get("/readyz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert api.get("/api/v1/currencies/", HTTP_HOST="10.1.2.3:8000").status_code == 400  # the rest still checks


def test_ids_bound_outside_a_request_or_task_do_not_stick_to_later_lines():
    from shop.logging import bind

    bind(order="ORD-2026-00009")  # a command or shell: no scope
    assert current_context() == {}
    with log_scope(request_id="r-scope-01"):
        bind(order="ORD-2026-00009", cart_id=None)
        assert current_context() == {"request_id": "r-scope-01", "order": "ORD-2026-00009"}
    assert current_context() == {}
