"""A real Celery worker with beat sweeps expired reservations (invariant 2).

The worker runs as a subprocess on the shop's own settings, with the broker a real one:
Redis when REDIS_URL is set or Redis answers on 127.0.0.1:6379, else the embedded
filesystem broker (its folders in a temporary directory). CELERY_TEST_BROKER=filesystem
or =redis forces one (to check both paths on a machine that has Redis). It talks to
this test's database, and beat sweeps every second.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from inventory.models import Reservation, StockMovement
from tests.support.database import database_url
from tests.support.race import assert_stock_exact
from tests.support.waiting import wait_until
from checkout import services as checkout_services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REPO = Path(settings.BASE_DIR)
RELEASE_DEADLINE = 30.0  # seconds for the worker to start and beat to sweep
# The run time is matched loosely: the log's card-number filter can mask a long run of
# its digits (e.g. "0.0117412345677605s" reads as a card number to it).
SWEEP_LOG = re.compile(r"Task inventory\.tasks\.expire_reservations\[[0-9a-f-]+\] succeeded in [^:]+s: (\d+)")


def _broker_url() -> str | None:
    """Redis if configured or answering locally, else None (the filesystem broker)."""
    forced = os.environ.get("CELERY_TEST_BROKER", "")
    if forced == "filesystem":
        return None
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError:
        if forced == "redis" or os.environ.get("REDIS_URL"):
            raise
        return None
    return url


def _worker_settings(folder: Path, broker_url: str | None) -> str:
    """A settings module: the shop's own, on its own queue (so no other worker on the
    same Redis takes its tasks), and for the filesystem broker folders of its own."""
    queue = f"inventory-test-{uuid.uuid4().hex[:8]}"
    lines = ["from shop.settings import *  # noqa: F401,F403", f"CELERY_TASK_DEFAULT_QUEUE = {queue!r}"]
    if broker_url:
        lines += [f"CELERY_BROKER_URL = {broker_url!r}", "CELERY_BROKER_TRANSPORT_OPTIONS = {}"]
    else:
        queue_dir, processed_dir, control_dir = folder / "queue", folder / "processed", folder / "control"
        for made in (queue_dir, processed_dir, control_dir):
            made.mkdir()
        lines += [
            'CELERY_BROKER_URL = "filesystem://"',
            "CELERY_BROKER_TRANSPORT_OPTIONS = {"
            f"'data_folder_in': {str(queue_dir)!r}, 'data_folder_out': {str(queue_dir)!r}, "
            f"'processed_folder': {str(processed_dir)!r}, 'control_folder': {str(control_dir)!r}, "
            "'store_processed': False}",
        ]
    (folder / "inventory_worker_settings.py").write_text("\n".join(lines) + "\n")
    return "inventory_worker_settings"


def _start_worker(folder: Path, broker_url: str | None, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": _worker_settings(folder, broker_url),
        "PYTHONPATH": os.pathsep.join([str(folder), str(REPO)]),
        "DATABASE_URL": database_url(),
        "RESERVATION_SWEEP_SECONDS": "1",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "LOG_LEVEL": "INFO",
    }
    env.pop("REDIS_URL", None)  # the settings module above names the broker
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A", "shop", "worker", "--beat",
        "--pool", "solo",
        "--loglevel", "INFO",
        "--hostname", f"inventory-test-{uuid.uuid4().hex[:8]}@%h",
        "--schedule", str(folder / "celerybeat-schedule"),
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    log = log_path.open("w")
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(worker: subprocess.Popen) -> int:
    """Warm shutdown (SIGTERM), as a process manager does; kill only if it hangs."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            return worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            raise AssertionError("the worker did not stop on SIGTERM") from None
    return worker.returncode


def _sweeps_logged(log_path: Path) -> list[int]:
    return [int(units) for units in SWEEP_LOG.findall(log_path.read_text())]


def test_beat_driven_worker_releases_expired_reservation_exactly_once(make_variant, make_cart, tmp_path):
    shirt = make_variant(on_hand=3)
    late, live = make_cart({shirt: 2}), make_cart({shirt: 1})
    checkout_services.start_checkout(cart_id=live.pk)
    checkout_services.start_checkout(cart_id=late.pk, now=timezone.now() - settings.RESERVATION_TTL - timedelta(seconds=5))
    assert_stock_exact(shirt.pk, on_hand=3, reserved=3)  # expired, but nobody has tidied it yet
    broker_url = _broker_url()
    log_path = tmp_path / "worker.log"

    worker = _start_worker(tmp_path, broker_url, log_path)
    try:
        deadline = time.monotonic() + RELEASE_DEADLINE

        def late_released() -> bool:
            if Reservation.objects.get(holder_id=late.pk).status != Reservation.Status.ACTIVE:
                return True
            assert worker.poll() is None, f"the worker died:\n{log_path.read_text()}"
            return False

        wait_until(late_released, timeout=RELEASE_DEADLINE, interval=0.2, what=lambda: f"a sweep to release it:\n{log_path.read_text()}")
        released = Reservation.objects.get(holder_id=late.pk)
        # Let beat sweep again at least twice more: nothing may be released a second time.
        wait_until(
            lambda: len(_sweeps_logged(log_path)) >= 3,
            timeout=max(deadline + 10 - time.monotonic(), 0),
            interval=0.2,
            what=lambda: f"beat to go on sweeping:\n{log_path.read_text()}",
        )
    finally:
        exit_code = _stop(worker)

    log = log_path.read_text()
    assert exit_code == 0, log
    sweeps = _sweeps_logged(log_path)
    assert sum(sweeps) == 2 and sweeps.count(2) == 1, sweeps  # one sweep freed the 2 units, the others nothing
    assert (released.status, released.quantity) == (Reservation.Status.EXPIRED, 2)
    assert Reservation.objects.get(holder_id=late.pk).closed_at == released.closed_at
    assert Reservation.objects.get(holder_id=live.pk).status == Reservation.Status.ACTIVE
    assert_stock_exact(shirt.pk, on_hand=3, reserved=1)
    assert not StockMovement.objects.filter(variant=shirt).exclude(reason=StockMovement.Reason.RECEIVED).exists()
    assert ("redis://" in log) == bool(broker_url)  # the worker's banner names the broker it used
