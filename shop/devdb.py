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
    """Stop the private PostgreSQL (`make clean-db`), if one runs in data_dir."""
    import subprocess

    import pgserver

    data_dir = Path(os.environ.get("PGSERVER_DATA_DIR", data_dir or DEFAULT_DATA_DIR))
    if not (data_dir / "postmaster.pid").exists():
        return
    pg_ctl = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl"
    subprocess.run([str(pg_ctl), "-D", str(data_dir), "stop", "-m", "fast"], check=False)
