"""Helpers for PostgreSQL race tests: real threads, each with its own connection.

- `Crew`: a set of threads that run one call each per round, released together by a
  barrier so their transactions really overlap (thread storms).
- `pause_after`: stop one thread right after a chosen function returns (e.g. right after
  it took its row locks), let the test start a rival, and resume it on cue: a
  deterministic race instead of one that passes by luck (Saleor's RunAfter).
- `wait_until_blocked`: wait until a backend is waiting for a lock held by another.
- `assert_stock_exact`: a stock row's figures, checked against its reservations and ledger.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from django.db import connection

from tests.support.waiting import wait_until

ROUND_TIMEOUT = 60.0


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Crew:
    """`size` threads; `run(calls)` hands call i to thread i, releases them all at once
    and returns their outcomes in order. Connections stay open across rounds (fast) and
    are closed when the crew stops."""

    def __init__(self, size: int):
        self.size = size
        self._barrier = threading.Barrier(size)
        self._inboxes: list[queue.Queue] = [queue.Queue() for _ in range(size)]
        self._results: queue.Queue = queue.Queue()
        self._threads = [threading.Thread(target=self._work, args=(i,), daemon=True) for i in range(size)]
        for thread in self._threads:
            thread.start()

    def _work(self, index: int) -> None:
        try:
            while True:
                call = self._inboxes[index].get()
                if call is None:
                    return
                try:
                    connection.ensure_connection()  # connect before the start line, not after
                    self._barrier.wait(timeout=ROUND_TIMEOUT)
                    outcome = Outcome(value=call())
                except BaseException as exc:  # noqa: BLE001 - the test inspects every failure
                    outcome = Outcome(error=exc)
                self._results.put((index, outcome))
        finally:
            connection.close()

    def run(self, calls: Sequence[Callable[[], Any]]) -> list[Outcome]:
        if len(calls) != self.size:
            raise ValueError(f"a round needs exactly {self.size} calls, got {len(calls)}")
        for inbox, call in zip(self._inboxes, calls):
            inbox.put(call)
        outcomes: list[Outcome | None] = [None] * self.size
        for _ in range(self.size):
            index, outcome = self._results.get(timeout=ROUND_TIMEOUT)
            outcomes[index] = outcome
        return outcomes  # type: ignore[return-value]

    def stop(self) -> None:
        for inbox in self._inboxes:
            inbox.put(None)
        for thread in self._threads:
            thread.join(timeout=ROUND_TIMEOUT)

    def __enter__(self) -> Crew:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Background:
    """One call in its own thread and connection; `result()` joins and re-raises."""

    def __init__(self, call: Callable[[], Any], *, name: str = "background"):
        self.backend_pid: int | None = None
        self._started = threading.Event()
        self._outcome = Outcome()
        self._thread = threading.Thread(target=self._work, args=(call,), name=name, daemon=True)
        self._thread.start()
        if not self._started.wait(ROUND_TIMEOUT):
            raise TimeoutError("the background thread did not connect")

    def _work(self, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()
            self.backend_pid = connection.connection.info.backend_pid
            self._started.set()
            self._outcome.value = call()
        except BaseException as exc:  # noqa: BLE001
            self._outcome.error = exc
        finally:
            self._started.set()
            connection.close()

    def outcome(self, timeout: float = ROUND_TIMEOUT) -> Outcome:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the background call did not finish")
        return self._outcome

    def result(self, timeout: float = ROUND_TIMEOUT) -> Any:
        outcome = self.outcome(timeout)
        if outcome.error is not None:
            raise outcome.error
        return outcome.value


class Pause:
    """Set by `pause_after`: `reached` fires when the paused thread got there; `resume()`
    lets it carry on."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._go = threading.Event()

    def wait_reached(self, timeout: float = ROUND_TIMEOUT) -> None:
        if not self.reached.wait(timeout):
            raise TimeoutError("the paused thread never got there")

    def resume(self) -> None:
        self._go.set()


@contextmanager
def pause_after(target: str, *, thread_name: str) -> Iterator[Pause]:
    """Patch `target` (a dotted name, as for mock.patch) so that, in the thread of that
    name and only the first time, it pauses right after the real function returns,
    until `Pause.resume()`. Other threads run the real function untouched."""
    pause = Pause()
    module_name, _, attribute = target.rpartition(".")
    module = __import__(module_name, fromlist=[attribute])
    real = getattr(module, attribute)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if threading.current_thread().name == thread_name and not pause.reached.is_set():
            pause.reached.set()
            if not pause._go.wait(ROUND_TIMEOUT):
                raise TimeoutError("never resumed")
        return result

    with mock.patch(target, wrapper):
        try:
            yield pause
        finally:
            pause.resume()  # never leave a thread hanging


def wait_until_blocked(backend_pid: int, timeout: float = 10.0) -> None:
    """Wait until that backend waits for a row or transaction lock (it is queued behind
    a rival's lock). Runs on the caller's own connection."""

    def blocked() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [backend_pid])
            row = cursor.fetchone()
        return bool(row and row[0] == "Lock")

    wait_until(blocked, timeout=timeout, interval=0.01, what=f"backend {backend_pid} to wait for a lock")


def assert_stock_exact(variant_id: int, *, on_hand: int, reserved: int) -> None:
    """The stock row holds exactly these figures, its `reserved` is the sum of its active
    reservations and its on_hand the sum of its ledger (invariants 1 and 3)."""
    from django.db.models import Sum

    from inventory.models import Reservation, Stock
    from inventory.selectors import ledger_balance

    stock = Stock.objects.get(variant_id=variant_id)
    active = Reservation.objects.filter(variant_id=variant_id, status=Reservation.Status.ACTIVE).aggregate(
        total=Sum("quantity")
    )["total"] or 0
    assert (stock.on_hand, stock.reserved) == (on_hand, reserved)
    assert active == reserved, f"reserved {stock.reserved} but active reservations add up to {active}"
    assert ledger_balance(variant_id) == on_hand
