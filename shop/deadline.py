"""A time budget for the calls one request makes to outside services.

A request may call Stripe several times (create or update the intent, attach the card,
confirm), each with its own timeout and retries; without a budget their worst cases add
up (20 s x 3 attempts x several calls was a minute). RequestDeadlineMiddleware gives each
request OUTSIDE_CALLS_DEADLINE_SECONDS from its start; the Stripe client
(payments.stripe_client) shortens every timeout to what is left and makes no further
attempt once it is spent, so a shopper gets an answer (502 payment_provider_unavailable)
in time. Celery tasks run without a budget: only the per-call timeouts apply there.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_deadline: ContextVar[float | None] = ContextVar("outside_calls_deadline", default=None)


def remaining() -> float | None:
    """Seconds left for outside calls in this request; None without a budget."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Outside calls inside the block share `seconds` (never more than an enclosing
    budget leaves)."""
    new = time.monotonic() + seconds
    current = _deadline.get()
    token = _deadline.set(new if current is None else min(current, new))
    try:
        yield
    finally:
        _deadline.reset(token)


class RequestDeadlineMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with budget(float(settings.OUTSIDE_CALLS_DEADLINE_SECONDS)):
            return self.get_response(request)
