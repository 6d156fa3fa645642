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
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (links then come out https).
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "djmoney",
    "django_countries",
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
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "currencies.choice.ShopperCurrencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# A per-process cache would keep a logged-out session alive in the other web workers.
SESSION_ENGINE = "django.contrib.sessions.backends." + ("cached_db" if REDIS_URL else "db")

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

LANGUAGE_CODE = "en-us"
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
WHITENOISE_MANIFEST_STRICT = False

# Email: EMAIL_URL (smtp://...), else the console.
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
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
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)

# API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "shop.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle",
                                 "rest_framework.throttling.UserRateThrottle"],
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "pgserver": {"level": "WARNING"}, "stripe": {"level": "WARNING"}},
}
