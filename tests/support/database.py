"""The pytest test database as a DATABASE_URL, for the processes the tests start
(gunicorn, a Celery worker, manage.py) that reach their database as production does."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import environ


def database_url(settings_dict: dict[str, Any] | None = None) -> str:
    """A DATABASE_URL (django-environ) for the database of a Django connection, by default
    the test's own (`django.db.connection`).

    pgserver's HOST is a unix socket directory (in HOST or OPTIONS["host"]); django-environ
    does not decode a percent-encoded host (it would pass "%2Fpath" to libpq), so a socket
    directory travels in the `?host=` query, which it moves back to OPTIONS["host"], with
    the connection's other OPTIONS. Checked by parsing the URL back."""
    if settings_dict is None:
        from django.db import connection

        settings_dict = connection.settings_dict
    db = settings_dict
    options = {key: str(value) for key, value in (db.get("OPTIONS") or {}).items()}
    host = db.get("HOST") or ""
    if host.startswith("/"):
        options["host"], host = host, ""
    user, password = quote(db.get("USER") or "", safe=""), quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = str(db.get("PORT") or "") if host else ""
    url = f"postgres://{credentials}{host}{f':{port}' if port else ''}/{quote(db['NAME'], safe='')}"
    if options:
        url += "?" + urlencode(options)

    parsed = environ.Env.db_url_config(url)
    wanted_host = db.get("HOST") or (db.get("OPTIONS") or {}).get("host", "")
    reached_host = parsed["HOST"] or parsed.get("OPTIONS", {}).get("host", "")
    if (parsed["NAME"], reached_host, str(parsed["PORT"] or "")) != (db["NAME"], wanted_host, port):
        raise AssertionError(f"{url} would not reach {db['NAME']} at {wanted_host}:{port}: {parsed}")
    return url


__all__ = ["database_url"]
