"""Test settings: the real PostgreSQL (DATABASE_URL or pgserver), eager Celery, locmem
email and cache, rate limits out of the way."""
import os

# DEBUG is off here as in production, and shop.settings refuses to start then on the
# development key: the tests bring their own (a subprocess given its own env keeps that).
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-never-used-in-production-0123456789")

from shop.settings import *  # noqa: E402,F401,F403
from shop.settings import REST_FRAMEWORK  # noqa: E402

# The test client speaks plain http: no redirect to https (the production default).
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Django's test set-up sends every email to locmem whatever is set here; tests of the queue
# (shop.mail) switch EMAIL_BACKEND to it, and the worker's task then delivers to locmem.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "fragments": CACHES["fragments"]}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "user": "100000/minute", "checkout": "100000/minute"},
}
# The per-client limits of shop.ratelimits (every test client is 127.0.0.1), off; the
# tests of those limits turn them on.
CHECKOUT_START_RATE_LIMIT = ADD_TO_CART_RATE_LIMIT = CHECKOUT_FORM_RATE_LIMIT = ""
LOGIN_RATE_LIMIT = LOGIN_ACCOUNT_RATE_LIMIT = ""
# Pages use {% static %}; tests run without collectstatic, so no manifest lookups.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405  (threads in concurrency tests)

# Parallel runs (several developers on one server) each name their own test database.
import os  # noqa: E402

if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}  # noqa: F405

# Uploaded and imported images (and their thumbnails) go to a temporary folder of this run.
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="shop-test-media-"))
_MEDIA_OWNER = os.getpid()  # forked workers (gunicorn) must not remove it when they exit
atexit.register(lambda: os.getpid() == _MEDIA_OWNER and shutil.rmtree(MEDIA_ROOT, ignore_errors=True))
