"""Production settings (issue 12): with DEBUG off the shop refuses to start on the public
development key or a weak one, and is https-only by default (redirect, HSTS, secure
cookies), so `manage.py check --deploy` is clean; `make run` (DEBUG on) still starts on
the development key over plain http. Each case runs the settings in a fresh process with
only the environment a host would set (DJANGO_SETTINGS_MODULE=shop.settings).

Before issue 12: DEBUG=0 with the default key started and served; no HSTS, no redirect;
secure cookies only with BEHIND_TLS_PROXY; check --deploy reported W004, W008, W009,
W012 and W016."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.database import database_url
from tests.support.net import free_port

# Each case starts Python processes (as tests/e2e/ tests do): part of the e2e run.
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = secrets.token_urlsafe(50)

SHOW = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "SECURE_PROXY_SSL_HEADER": getattr(settings, "SECURE_PROXY_SSL_HEADER", None),
    "SESSION_ENGINE": settings.SESSION_ENGINE,
    "CACHE_BACKEND": settings.CACHES["default"]["BACKEND"],
    "TRUSTED_PROXY_COUNT": settings.TRUSTED_PROXY_COUNT,
    "NUM_PROXIES": settings.REST_FRAMEWORK["NUM_PROXIES"],
    "ALLAUTH_TRUSTED_PROXY_COUNT": settings.ALLAUTH_TRUSTED_PROXY_COUNT,
}))
"""


def _host_env(**values: str) -> dict[str, str]:
    """The environment of a host: nothing of the tests' (no SECRET_KEY, DEBUG, settings)."""
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST", "SECURE_", "SESSION_", "CSRF_"))
        and key not in ("SECRET_KEY", "DEBUG", "REDIS_URL", "TRUSTED_PROXY_COUNT", "BEHIND_TLS_PROXY")
    }
    env.update(DJANGO_SETTINGS_MODULE="shop.settings", LOG_LEVEL="WARNING", **values)
    return env


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _settings_of(env: dict[str, str]) -> dict:
    done = _python(SHOW, env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "key",
    [None, "dev-only-insecure-key-change-me", "short-but-random-Zq8x", "django-insecure-" + "a1b2c3d4e5" * 5, "a" * 60],
    ids=["unset (the development default)", "the development default", "shorter than 50", "django-insecure-", "too few characters"],
)
def test_debug_off_with_a_default_or_weak_key_refuses_to_start(key):
    env = _host_env(DEBUG="0", ALLOWED_HOSTS="shop.example.com")
    if key is not None:
        env["SECRET_KEY"] = key

    done = _python("import django; django.setup()", env)

    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "SECRET_KEY must be set to a random value of at least 50 characters" in done.stderr


def test_debug_off_is_https_only_by_default():
    shown = _settings_of(_host_env(DEBUG="0", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="shop.example.com"))

    assert shown["DEBUG"] is False
    assert shown["SECURE_SSL_REDIRECT"] is True
    assert shown["SECURE_HSTS_SECONDS"] >= 31536000
    assert shown["SESSION_COOKIE_SECURE"] is True and shown["CSRF_COOKIE_SECURE"] is True
    assert shown["SECURE_PROXY_SSL_HEADER"] is None  # only when told a proxy terminates TLS
    assert shown["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"
    assert (shown["TRUSTED_PROXY_COUNT"], shown["NUM_PROXIES"], shown["ALLAUTH_TRUSTED_PROXY_COUNT"]) == (0, 0, 0)


def test_behind_a_tls_proxy_the_settings_follow_the_environment():
    shown = _settings_of(_host_env(
        DEBUG="0", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="shop.example.com", BEHIND_TLS_PROXY="1",
        SECURE_SSL_REDIRECT="0", TRUSTED_PROXY_COUNT="2", REDIS_URL="redis://127.0.0.1:6379/0",
    ))

    assert shown["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert shown["SECURE_SSL_REDIRECT"] is False  # the proxy redirects
    assert shown["SESSION_COOKIE_SECURE"] is True
    assert (shown["TRUSTED_PROXY_COUNT"], shown["NUM_PROXIES"], shown["ALLAUTH_TRUSTED_PROXY_COUNT"]) == (2, 2, 2)
    # Redis for the cache, degrading when it is down; sessions never depend on it.
    assert shown["CACHE_BACKEND"] == "shop.cache.ResilientRedisCache"
    assert shown["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"


def test_make_run_with_debug_on_starts_on_the_development_key_over_http():
    shown = _settings_of(_host_env(DEBUG="1"))

    assert shown["DEBUG"] is True
    assert shown["SECURE_SSL_REDIRECT"] is False
    assert shown["SECURE_HSTS_SECONDS"] == 0
    assert shown["SESSION_COOKIE_SECURE"] is False and shown["CSRF_COOKIE_SECURE"] is False


@pytest.mark.django_db
def test_check_deploy_is_clean_under_production_settings(tmp_path):
    env = _host_env(
        DEBUG="0",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="shop.example.com",
        DATABASE_URL=database_url(),
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",  # not even reached by the checks
        EXCHANGE_RATES_PROVIDER="ecb",  # not the demo rates (shop.W001)
        STAFF_ALERT_EMAILS="ops@example.com",  # alerts reach someone (shop.W003)
        STATIC_ROOT=str(tmp_path / "static"),
    )
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert collected.returncode == 0, collected.stderr[-3000:]

    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "System check identified no issues (0 silenced)." in done.stdout
    assert "WARNINGS" not in done.stdout + done.stderr
