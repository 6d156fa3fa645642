"""Logs: one line per event on standard output, JSON in production (`LOG_FORMAT=json`, the
default with DEBUG off) and readable text in development (`LOG_FORMAT=plain`, the default
with DEBUG on). Every line carries the ids known where it was logged (request, cart,
order, PaymentIntent, Stripe event, Celery task), taken from a context variable that the
request middleware (shop.request_id) and the Celery signals below fill in.

Card data and secrets never reach a log line: RedactingFilter blanks any field whose name
says it is secret (card, cvc, password, authorization, ...), masks card numbers and
Stripe keys and client secrets in the text, and is installed on every handler.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# The ids a line may carry, in the order the readable format prints them.
CONTEXT_FIELDS = ("request_id", "cart_id", "order", "payment_intent", "stripe_event", "task_id", "task")

# Outside a request or task (a command, a shell) there is no scope: bind() then does
# nothing, so ids never stick to a thread's later, unrelated lines.
_NO_SCOPE: dict[str, str] = {}
_context: ContextVar[dict[str, str]] = ContextVar("shop_log_context", default=_NO_SCOPE)


def bind(**fields: Any) -> None:
    """Add ids to the current request's or task's context for its later log lines."""
    current = _context.get()
    if current is _NO_SCOPE:
        return
    known = {key: str(value)[:200] for key, value in fields.items() if value not in (None, "")}
    if known:
        _context.set({**current, **known})


def current_context() -> dict[str, str]:
    return dict(_context.get())


def current_request_id() -> str | None:
    return _context.get().get("request_id")


@contextmanager
def log_scope(**fields: Any) -> Iterator[None]:
    """A fresh context for one request or task, dropped when it ends."""
    token = _context.set({key: str(value)[:200] for key, value in fields.items() if value not in (None, "")})
    try:
        yield
    finally:
        _context.reset(token)


# --- redaction ------------------------------------------------------------------------

REDACTED = "[redacted]"
SENSITIVE_KEY = re.compile(
    r"card|cvc|cvv|secret|passw|authori[sz]ation|cookie|csrf|sessionid|session_key|api[_-]?key|signature|token|pan$|iban",
    re.IGNORECASE,
)
# key=value or "key": "value" inside a message, for the keys above.
_SENSITIVE_PAIR = re.compile(
    r"""(?P<key>["']?[\w-]*(?:card|cvc|cvv|secret|passw|authori[sz]ation|cookie|api[_-]?key|signature|token)[\w-]*["']?)"""
    r"""(?P<sep>\s*[:=]\s*)(?P<quote>["']?)(?P<value>(?:Bearer\s+|Basic\s+)?[^\s"',&;}]+)""",
    re.IGNORECASE,
)
_STRIPE_SECRETS = re.compile(r"\b(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+|whsec_[A-Za-z0-9]+)")
_CLIENT_SECRET = re.compile(r"\b((?:pi|seti)_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+")
_CARD_NUMBER = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"[card ****{digits[-4:]}]" if _luhn_ok(digits) else match.group(0)


def redact_text(text: str) -> str:
    """The text with secrets, client secrets, card numbers and key=value secrets masked."""
    text = _STRIPE_SECRETS.sub(REDACTED, text)
    text = _CLIENT_SECRET.sub(lambda m: f"{m.group(1)}_secret_{REDACTED}", text)
    text = _CARD_NUMBER.sub(_mask_card, text)
    return _SENSITIVE_PAIR.sub(lambda m: f"{m.group('key')}{m.group('sep')}{m.group('quote')}{REDACTED}", text)


def redact(value: Any, *, depth: int = 0) -> Any:
    """A copy of a logged value with secret-named keys blanked, at any depth."""
    if depth > 8:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            key: REDACTED if isinstance(key, str) and SENSITIVE_KEY.search(key) else redact(item, depth=depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(redact(item, depth=depth + 1) for item in value)
    if isinstance(value, str):
        return redact_text(value)
    return value


_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Blanks secrets in the message, its arguments, the extra fields and the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is rather than lose the line
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact_text(message), None
        for key in [k for k in vars(record) if k not in _RECORD_ATTRS]:
            value = getattr(record, key)
            if SENSITIVE_KEY.search(key) and key not in CONTEXT_FIELDS:
                setattr(record, key, REDACTED)
            elif isinstance(value, (Mapping, list, tuple, str)):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


class ContextFilter(logging.Filter):
    """Copies the current ids onto the record (a field the caller passed wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class ReadableFormatter(logging.Formatter):
    """Development lines: time, level, logger, message, then the ids known, e.g.
    `... checkout started [request_id=ab12 cart_id=...]`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return redact_text(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(f"{key}={getattr(record, key)}" for key in CONTEXT_FIELDS if getattr(record, key, None))
        if not ids:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} [{ids}]{newline}{rest}"


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    class RedactingJsonFormatter(JsonFormatter):
        def formatException(self, ei) -> str:  # noqa: N802 - logging's name
            return redact_text(super().formatException(ei))

    return RedactingJsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def logging_config(*, log_format: str = "json", level: str = "INFO") -> dict[str, Any]:
    """Django's LOGGING: one handler on standard output, redacting and adding the ids."""
    if log_format not in ("json", "plain"):
        raise ValueError("LOG_FORMAT must be 'json' or 'plain'.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "shop.logging.ContextFilter"},
            "redact": {"()": "shop.logging.RedactingFilter"},
        },
        "formatters": {
            "json": {"()": "shop.logging.json_formatter"},
            "plain": {"()": "shop.logging.ReadableFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": log_format,
                "filters": ["context", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "pgserver": {"level": "WARNING"},
            "stripe": {"level": "WARNING"},
            # One line per request comes from shop.request_id; Django's own 4xx lines repeat it.
            "django.request": {"level": "ERROR"},
        },
    }


# --- Celery: the request id travels with a task, and a task's lines carry its id ------


def _add_request_id_header(headers: dict | None = None, **_: Any) -> None:
    request_id = current_request_id()
    if headers is not None and request_id and "request_id" not in headers:
        headers["request_id"] = request_id


_task_tokens: dict[str, Any] = {}


def _enter_task(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    # From the publishing request's header; an eager task runs inside that request.
    request_id = getattr(getattr(task, "request", None), "request_id", None) or current_request_id()
    fields = {"task_id": task_id, "task": getattr(task, "name", None), "request_id": request_id}
    _task_tokens[task_id or ""] = _context.set({k: str(v) for k, v in fields.items() if v})


def _leave_task(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        try:
            _context.reset(token)
        except ValueError:  # set in another context (eager task inside a request): just drop
            pass


def connect_celery_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(_add_request_id_header, weak=False, dispatch_uid="shop.logging.publish")
    signals.task_prerun.connect(_enter_task, weak=False, dispatch_uid="shop.logging.prerun")
    signals.task_postrun.connect(_leave_task, weak=False, dispatch_uid="shop.logging.postrun")
