"""Reads kept for the rest of one web request: a lookup asked for again and again while
one request is served (rates, shipping zones) is read once, and the next request reads it
afresh, so an edit shows at once. Outside requests (tasks, commands, tests calling
selectors directly) nothing is kept and every call reads."""
from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from django.core.signals import request_finished, request_started

T = TypeVar("T")

# A dict while a request runs in this context, None outside requests.
_memo: ContextVar[dict | None] = ContextVar("shop_request_memo", default=None)


def _open(**kwargs: Any) -> None:
    _memo.set({})


def _close(**kwargs: Any) -> None:
    _memo.set(None)


request_started.connect(_open, dispatch_uid="shop.request_memo.open")
request_finished.connect(_close, dispatch_uid="shop.request_memo.close")


def remembered(key: tuple, read: Callable[[], T]) -> T:
    """`read()`, once per request for this key (callers name their own keys)."""
    memo = _memo.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


def forget(prefix: str) -> None:
    """Drop what this request kept under keys starting with `prefix` (its data changed)."""
    memo = _memo.get()
    if memo is not None:
        for key in [key for key in memo if key[0] == prefix]:
            del memo[key]
