"""Test settings: the real PostgreSQL (DATABASE_URL or pgserver), eager Celery, locmem
email and cache, rate limits out of the way."""
from shop.settings import *  # noqa: F401,F403
from shop.settings import REST_FRAMEWORK

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "user": "100000/minute", "checkout": "100000/minute"},
}
# Pages use {% static %}; tests run without collectstatic, so no manifest lookups.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405  (threads in concurrency tests)

# Parallel runs (several developers on one server) each name their own test database.
import os  # noqa: E402

if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}  # noqa: F405
