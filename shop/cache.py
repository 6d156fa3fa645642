"""The Redis cache, made to degrade instead of failing when Redis is away.

What the shop keeps in the cache (rate-limit counters, the rate table, allauth's counters)
can be lost without harm: with Redis down the shop keeps selling, with no throttling and
no cached rates, and logs a warning. Every cache call that hits a Redis error answers as a
miss (get: the default, touch/delete: False, incr: ValueError as for a missing key; add:
True, so whoever takes a lock or counts a first hit goes on)
and Redis is then left alone for RETRY_SECONDS (a cache key of the CACHES entry, default
5), so a Redis that does not answer costs each process one short timeout per interval,
not one per call. `available()` tells the readiness check whether Redis answered.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Redis' own errors (connection refused, timeouts, a failover in progress) and the
# socket errors that surface as OSError.
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)

# When Redis may next be tried, by LOCATION, for every cache instance of this process
# (Django keeps one instance per thread).
_down_until: dict[str, float] = {}
_down_lock = threading.Lock()


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)
        self._retry_seconds = float(params.get("RETRY_SECONDS", 5.0))

    # --- the circuit: skip Redis for a while after it failed --------------------------

    def _is_down(self) -> bool:
        until = _down_until.get(self._location)
        return until is not None and time.monotonic() < until

    def _failed(self, operation: str, error: BaseException) -> None:
        with _down_lock:
            first = self._location not in _down_until
            _down_until[self._location] = time.monotonic() + self._retry_seconds
        log.warning(
            "Cache unavailable (%s: %s: %s); carrying on without it (no throttling, no cached data)%s.",
            operation, type(error).__name__, error,
            "" if first else ", still",
        )

    def _recovered(self) -> None:
        if self._location in _down_until:
            with _down_lock:
                if _down_until.pop(self._location, None) is not None:
                    log.warning("Cache available again.")

    def _call(self, operation: str, call: Callable[[], T], fallback: Callable[[], T]) -> T:
        if self._is_down():
            return fallback()
        try:
            result = call()
        except CACHE_ERRORS as error:
            self._failed(operation, error)
            return fallback()
        self._recovered()
        return result

    def available(self) -> bool:
        """Whether Redis answers a PING now (for the readiness check; ignores the circuit)."""
        try:
            return bool(self._cache.get_client(write=False).ping())
        except CACHE_ERRORS:
            return False



# --- every operation of RedisCache, degraded (set on the class below) ---------------------


def _missing_key() -> Any:
    raise ValueError("Cache unavailable.")


def _degraded(name: str, fallback: Callable[..., Any]) -> Callable[..., Any]:
    parent = getattr(RedisCache, name)

    def method(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, lambda: parent(self, *args, **kwargs), lambda: fallback(*args, **kwargs))

    method.__name__ = name
    method.__qualname__ = f"ResilientRedisCache.{name}"
    method.__doc__ = parent.__doc__
    return method


def _default_of_get(key: Any, default: Any = None, version: Any = None) -> Any:
    return default


_FALLBACKS: dict[str, Callable[..., Any]] = {
    # As if stored: a lock taken (allauth's counters) or a first hit counted (django-ratelimit)
    # lets the request through, where False would refuse every login while Redis is away.
    "add": lambda *a, **k: True,
    "get": _default_of_get,
    "set": lambda *a, **k: None,
    "touch": lambda *a, **k: False,
    "delete": lambda *a, **k: False,
    "get_many": lambda *a, **k: {},
    "has_key": lambda *a, **k: False,
    "incr": lambda *a, **k: _missing_key(),
    "set_many": lambda data, *a, **k: list(data),
    "delete_many": lambda *a, **k: None,
    "clear": lambda *a, **k: False,
}
for _name, _fallback in _FALLBACKS.items():
    setattr(ResilientRedisCache, _name, _degraded(_name, _fallback))
