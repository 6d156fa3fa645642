"""Settings, all from the environment (django-environ). Defaults are the embedded
development set-up (docs/operations.md); production sets the variables."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost", "[::1]", "testserver"]),
    RESERVATION_TTL_SECONDS=(int, 300),
    RESERVATION_EXTEND_BELOW_SECONDS=(int, 120),
    RESERVATION_PAYMENT_TTL_SECONDS=(int, 900),
    CART_ABANDON_AFTER_DAYS=(int, 7),
    LOW_STOCK_THRESHOLD_DEFAULT=(int, 5),
    API_RATE_LIMIT=(str, "600/minute"),
    API_CHECKOUT_RATE_LIMIT=(str, "120/minute"),
)
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env("DEBUG")
# Security (docs/operations.md, "Limits and security settings"). With DEBUG off the shop
# refuses to start on the public development key or on any key Django deems weak.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me"
SECRET_KEY = env("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
if not DEBUG and (
    SECRET_KEY == DEVELOPMENT_SECRET_KEY
    or len(SECRET_KEY) < 50
    or len(set(SECRET_KEY)) < 5
    or SECRET_KEY.startswith("django-insecure-")
):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is off, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# HTTPS only, by default whenever DEBUG is off: redirect http to https, HSTS for a year,
# cookies sent over https only. Behind a TLS-terminating proxy set BEHIND_TLS_PROXY so
# the proxy's X-Forwarded-Proto says whether the client used https; turn the redirect off
# only where the proxy already redirects (a redirect loop otherwise shows as "too many
# redirects"). SECURE_SSL_REDIRECT=0 and the cookie settings at 0 serve plain http (a
# loopback test server), never a public site.
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# The probes answer over plain http from inside the network (load balancer, orchestrator).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# How many proxies in front of the shop append to X-Forwarded-For (shop.client_ip): 0
# ignores the header. Rate limits (DRF throttles, django-ratelimit, allauth) and logs
# name the client by it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "rest_framework",
    "drf_spectacular",
    "djmoney",
    "django_countries",
    "easy_thumbnails",
    "allauth",
    "allauth.account",
    # The project's apps, lowest layer first (docs/architecture.md): each imports only
    # from the ones above it in this list. payments comes after orders on purpose: its
    # admin adds the payment panel to the order admin.
    "shop",
    "currencies",
    "addresses",
    "catalog",
    "inventory",
    "shipping",
    "taxes",
    "discounts",
    "cart",
    "orders",
    "payments",
    "accounts",
    "checkout",
]

MIDDLEWARE = [
    # First: every request gets its id, its log context and its latency observation.
    "shop.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # 400 for a NUL character in the path, query or form; before anything reads them.
    "shop.input_guards.RejectNulBytesMiddleware",
    # One time budget for all the calls a request makes to Stripe (shop.deadline).
    "shop.deadline.RequestDeadlineMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the shopper's choice (language cookie), else Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "currencies.choice.ShopperCurrencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Per-client limits on login, add-to-cart and checkout form POSTs (shop.ratelimits).
    "shop.ratelimits.PageRateLimitMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.shop",
                "currencies.choice.currency_context",
                "catalog.context_processors.navigation",
                "cart.session.cart_context",
            ],
        },
    }
]

# Database: DATABASE_URL, else a private PostgreSQL from the pgserver wheel.
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    from shop.devdb import private_database_url

    DATABASES = {"default": env.db_url_config(private_database_url())}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    # shop.cache.ResilientRedisCache: with Redis down, cache calls do nothing (a miss, no
    # throttling) and log a warning, instead of failing the request; short timeouts, and
    # Redis is left alone for CACHE_RETRY_SECONDS after a failure.
    CACHES = {
        "default": {
            "BACKEND": "shop.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": env.float("CACHE_TIMEOUT_SECONDS", default=0.5),
                "socket_timeout": env.float("CACHE_TIMEOUT_SECONDS", default=0.5),
            },
            "RETRY_SECONDS": env.float("CACHE_RETRY_SECONDS", default=5.0),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Rendered fragments keyed by what they show (shop/fragments.py): each process's own
# memory, bounded by entries (a product card is about 1 KB, a product page's content 5 KB).
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "OPTIONS": {"MAX_ENTRIES": env.int("FRAGMENT_CACHE_ENTRIES", default=5000)},
}

# Sessions in the database only: a session must survive Redis being down (a cached_db
# session raises then), and a per-process cache would keep a logged-out session alive in
# the other web workers.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Accounts (django-allauth): customers sign up and log in by email, verified before their
# first login; staff still log into /admin/ with their username (ModelBackend).
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "catalog:product_list"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# Django's User requires a username: allauth makes a unique one from the email address.
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
# One address per account; a new one replaces it once verified (until then it is unverified).
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = None  # a "Remember me" box on the login form
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""  # no "[site] " in subjects; sent from DEFAULT_FROM_EMAIL
ACCOUNT_EMAIL_NOTIFICATIONS = True  # tell the customer when their password or email changes
# allauth's own limits (login, failed logins per address, sign-up, password reset, email
# changes), counted in the default cache (Redis in production). Its defaults, kept on.
ACCOUNT_RATE_LIMITS: dict[str, str] = {}
# The client of those limits is shop.client_ip's (TRUSTED_PROXY_COUNT), as for every limit.
ACCOUNT_ADAPTER = "accounts.adapter.ShopAccountAdapter"

# Languages (locale/<code>/LC_MESSAGES, compiled .mo files committed). URLs carry no
# language prefix: a shopper's choice is kept in the language cookie (the header's selector,
# Django's set_language view), else Accept-Language decides, else English.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

# Uploaded files (product images) go through the default storage: a local folder here
# (git-ignored), any storage backend in production (set STORAGES["default"]). The shop
# serves MEDIA_URL itself only when SERVE_MEDIA is on (DEBUG, `make run`); in production
# the storage's own URLs or the web server serve them.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = env("MEDIA_URL", default="/media/")
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=DEBUG)
# Product image thumbnails (easy-thumbnails, catalog/images.py): the sizes the pages show,
# at 1x; each is also made at twice its size for high-density screens (srcset 2x). Made
# once when an image is saved, and their names and sizes kept on the image row.
THUMBNAIL_ALIASES = {
    "catalog.ProductImage.image": {
        "card": {"size": (320, 400), "crop": "smart", "quality": 82},  # product list and search cards
        "detail": {"size": (560, 700), "crop": "smart", "quality": 85},  # product page, main picture
        "thumb": {"size": (80, 100), "crop": "smart", "quality": 80},  # gallery strip, cart lines, admin
    },
}
THUMBNAIL_BASEDIR = "thumbs"
WHITENOISE_MANIFEST_STRICT = False

# Email: EMAIL_URL (smtp://...), else the console. Every email is queued after commit and
# sent by a Celery task (shop.mail) with EMAIL_DELIVERY_BACKEND, never inside a request.
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
EMAIL_DELIVERY_BACKEND = EMAIL_BACKEND
EMAIL_BACKEND = "shop.mail.QueuedEmailBackend"
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)  # seconds per SMTP operation
EMAIL_MAX_RETRIES = env.int("EMAIL_MAX_RETRIES", default=8)
EMAIL_RETRY_BACKOFF_SECONDS = env.float("EMAIL_RETRY_BACKOFF_SECONDS", default=30.0)  # doubles per retry
EMAIL_RETRY_BACKOFF_MAX_SECONDS = env.float("EMAIL_RETRY_BACKOFF_MAX_SECONDS", default=1800.0)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="shop@example.com")
# Where emails link back to (order pages); set it to the public address in production.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:" + env("PORT", default="8000"))
STAFF_ALERT_EMAILS = env.list("STAFF_ALERT_EMAILS", default=[])

# Money
BASE_CURRENCY = "USD"
# Currencies a shopper can choose (ISO 4217); prices are stored in BASE_CURRENCY only.
CURRENCIES = tuple(env.list("CURRENCIES", default=["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "KWD"]))
DEFAULT_CURRENCY = "USD"

# Exchange rates (currencies.rates): `ecb` (keyless daily feed), `openexchangerates` (needs
# OPEN_EXCHANGE_RATES_APP_ID) or `fixed` (demo rates, offline).
EXCHANGE_RATES_PROVIDER = env("EXCHANGE_RATES_PROVIDER", default="fixed")
OPEN_EXCHANGE_RATES_APP_ID = env("OPEN_EXCHANGE_RATES_APP_ID", default="")
RATES_REFRESH_SECONDS = env.float("RATES_REFRESH_SECONDS", default=3600.0)
RATES_STALE_AFTER_HOURS = env.float("RATES_STALE_AFTER_HOURS", default=48.0)
RATES_STALE_AFTER = timedelta(hours=RATES_STALE_AFTER_HOURS)
RATES_FETCH_TIMEOUT_SECONDS = env.float("RATES_FETCH_TIMEOUT_SECONDS", default=10.0)
# How long one process may serve the rate table from the cache; updates also clear it.
RATES_CACHE_SECONDS = env.int("RATES_CACHE_SECONDS", default=60)

# Tax (docs/architecture.md, invariant 17): whether catalog prices include tax (EU style:
# shown gross, tax extracted) or not (US style: tax added at checkout).
PRICES_INCLUDE_TAX = env.bool("PRICES_INCLUDE_TAX", default=False)

# Stock reservations (docs/architecture.md, invariant 10)
RESERVATION_TTL = timedelta(seconds=env("RESERVATION_TTL_SECONDS"))
RESERVATION_EXTEND_BELOW = timedelta(seconds=env("RESERVATION_EXTEND_BELOW_SECONDS"))
RESERVATION_PAYMENT_TTL = timedelta(seconds=env("RESERVATION_PAYMENT_TTL_SECONDS"))
CART_ABANDON_AFTER = timedelta(days=env("CART_ABANDON_AFTER_DAYS"))
LOW_STOCK_THRESHOLD_DEFAULT = env("LOW_STOCK_THRESHOLD_DEFAULT")
CART_LINE_MAX_QUANTITY = 99

# Limits on holding stock (docs/operations.md, "Limits and security settings"): units of
# one SKU a cart may hold (at most the API's 99 per line), units in all of a cart, how long
# one checkout may hold its stock in all (reservation extensions stop there; the shopper
# starts checkout again), and how many checkouts one client may start (a rate, see below).
CART_MAX_QUANTITY_PER_SKU = min(env.int("CART_MAX_QUANTITY_PER_SKU", default=99), CART_LINE_MAX_QUANTITY)
CART_MAX_UNITS = env.int("CART_MAX_UNITS", default=200)
CHECKOUT_MAX_HOLD = timedelta(seconds=env.int("CHECKOUT_MAX_HOLD_SECONDS", default=1800))
# Per-client rates (shop.ratelimits, django-ratelimit: "count/period", period s, m, h or d
# with an optional multiplier; empty: off), counted in the default cache (Redis).
CHECKOUT_START_RATE_LIMIT = env.str("CHECKOUT_START_RATE_LIMIT", default="20/10m")
ADD_TO_CART_RATE_LIMIT = env.str("ADD_TO_CART_RATE_LIMIT", default="60/m")
CHECKOUT_FORM_RATE_LIMIT = env.str("CHECKOUT_FORM_RATE_LIMIT", default="60/m")
LOGIN_RATE_LIMIT = env.str("LOGIN_RATE_LIMIT", default="10/m")  # login POSTs per client
LOGIN_ACCOUNT_RATE_LIMIT = env.str("LOGIN_ACCOUNT_RATE_LIMIT", default="10/15m")  # per account name typed
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True  # Redis down: no limits rather than no shop

# Stripe (payments/stripe_client.py is the one place that uses these). With STRIPE_API_BASE
# pointing at an emulator (localstripe) and no keys, emulator keys stand in.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="").rstrip("/")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="sk_test_emulated" if STRIPE_API_BASE else "")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="pk_test_emulated" if STRIPE_API_BASE else "")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_JS_URL = env(
    "STRIPE_JS_URL", default=f"{STRIPE_API_BASE}/js.stripe.com/v3/" if STRIPE_API_BASE else "https://js.stripe.com/v3/"
)
STRIPE_CAPTURE_METHOD = env("STRIPE_CAPTURE_METHOD", default="automatic")
if STRIPE_CAPTURE_METHOD not in ("automatic", "manual"):
    raise ValueError("STRIPE_CAPTURE_METHOD must be 'automatic' or 'manual'.")
# Per attempt: a timeout and one retry (the SDK's requests carry idempotency keys). In a web
# request all outside calls together also keep to OUTSIDE_CALLS_DEADLINE_SECONDS (shop.deadline),
# so a Stripe that does not answer gives the shopper a 502 within about that long.
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=1)
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=8.0)
OUTSIDE_CALLS_DEADLINE_SECONDS = env.float("OUTSIDE_CALLS_DEADLINE_SECONDS", default=12.0)

# API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser with a nesting limit and no NUL characters (shop.parsers): 400, not 500.
    "DEFAULT_PARSER_CLASSES": ["shop.parsers.LimitedJSONParser"],
    "EXCEPTION_HANDLER": "shop.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle",
                                 "rest_framework.throttling.UserRateThrottle"],
    # The shop's throttles (shop.api_base) name the client by shop.client_ip; any left on
    # DRF's own lookup reads X-Forwarded-For with the same count of trusted proxies.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_RATE_LIMIT"),
        "user": env("API_RATE_LIMIT"),
        "checkout": env("API_CHECKOUT_RATE_LIMIT"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}
CATALOG_PAGE_SIZE = 20

# Celery: Redis when REDIS_URL is set, else the embedded filesystem broker.
RUN_DIR = BASE_DIR / ".run"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
else:
    # The embedded broker: a folder of message files shared by web processes and the worker.
    _broker_dir = Path(env("CELERY_FILESYSTEM_BROKER_DIR", default=str(RUN_DIR / "celery")))
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE = {
    "refresh-exchange-rates": {
        "task": "currencies.tasks.refresh_exchange_rates",
        "schedule": RATES_REFRESH_SECONDS,
    },
    "expire-reservations": {
        "task": "inventory.tasks.expire_reservations",
        "schedule": env.float("RESERVATION_SWEEP_SECONDS", default=30.0),
    },
    # The stock drift check (inventory.services.check_stock): alerts, never repairs.
    "check-stock": {
        "task": "inventory.tasks.check_stock",
        "schedule": env.float("STOCK_CHECK_SECONDS", default=86400.0),
    },
    "abandon-idle-carts": {
        "task": "checkout.tasks.abandon_idle_carts",
        "schedule": env.float("CART_ABANDON_SWEEP_SECONDS", default=3600.0),
    },
    "retry-pending-refunds": {
        "task": "payments.tasks.retry_pending_refunds",
        "schedule": env.float("PAYMENTS_SWEEP_SECONDS", default=60.0),
    },
    "cancel-intents-of-ended-checkouts": {
        "task": "checkout.tasks.cancel_intents_of_ended_checkouts",
        "schedule": env.float("PAYMENTS_SWEEP_SECONDS", default=60.0),
    },
}

# Logs (shop.logging): one line per event on standard output, with the request, cart,
# order, payment and event ids, secrets and card data redacted. JSON unless DEBUG is on.
from shop.logging import logging_config  # noqa: E402

LOG_FORMAT = env("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = logging_config(log_format=LOG_FORMAT, level=env("LOG_LEVEL", default="INFO"))
# The Celery worker logs through the same handler (JSON lines) instead of its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Observability (shop.health, shop.metrics): who may scrape /metrics (addresses or networks,
# comma-separated; empty: anyone who reaches it), the readiness checks' timeout, Sentry.
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
READINESS_TIMEOUT_SECONDS = env.float("READINESS_TIMEOUT_SECONDS", default=2.0)
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from shop.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
