"""A private PostgreSQL for machines without DATABASE_URL.

`make run` and `make test` need a real PostgreSQL; when none is configured we start
one from the `pgserver` wheel under `.pgdata/` in the checkout. It is shared by every
process (runserver, Celery, pytest) and keeps running after they exit, so the next
start reuses it.
"""
from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = BASE_DIR / ".pgdata"


def private_database_url(data_dir: Path | None = None) -> str:
    import warnings

    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", module="platformdirs")
    import pgserver  # imported lazily: production never needs it

    data_dir = Path(os.environ.get("PGSERVER_DATA_DIR", data_dir or DEFAULT_DATA_DIR))
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    # get_uri() gives postgresql://postgres:@/postgres?host=<socket dir>
    return server.get_uri()


def stop_private_server(data_dir: Path | None = None) -> None:
    """Stop the private PostgreSQL (`make clean-db`), if one runs in data_dir. Raises if
    it cannot, so the caller never deletes the folder under a live server."""
    import subprocess

    import pgserver

    data_dir = Path(os.environ.get("PGSERVER_DATA_DIR", data_dir or DEFAULT_DATA_DIR))
    if not (data_dir / "postmaster.pid").exists():
        return
    pg_ctl = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"
    # As root, pgserver runs the server as its own system user, and pg_ctl must too.
    owner = data_dir.stat().st_uid
    user = owner if os.geteuid() == 0 and owner != 0 else None
    subprocess.run([str(pg_ctl), "-D", str(data_dir), "-w", "stop", "-m", "fast"], check=True, user=user)
