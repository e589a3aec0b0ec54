"""Settings shared by every environment; each value can be overridden from the environment."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "checkouts",
    "automations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "checkouts.tenancy.CurrentStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# The embedded default is a SQLite file under var/. WAL lets the web process read while
# the worker writes; IMMEDIATE takes the write lock at BEGIN so two writers queue on the
# busy timeout instead of failing with "database is locked" halfway through.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'comeback.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# --- I18n / time ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))

# --- Email ------------------------------------------------------------------------
# EMAIL_URL picks the mailer: smtp+tls://user:pass@host:587 (STARTTLS), smtp://host:25/?ssl=True,
# consolemail://.
# The embedded default writes every message to a file under var/mail/ so the merchant can
# read what was sent without an SMTP server.
EMAIL_URL = env("EMAIL_URL", default="")


def _mailer_from_url(url: str) -> dict:
    config = environ.Env.email_url_config(url)
    query = {
        key.lower(): str(value).lower() in ("1", "true", "yes") for key, value in config.get("OPTIONS", {}).items()
    }
    options = {
        "host": config.get("EMAIL_HOST"),
        "port": config.get("EMAIL_PORT"),
        "username": config.get("EMAIL_HOST_USER"),
        "password": config.get("EMAIL_HOST_PASSWORD"),
        "use_tls": config.get("EMAIL_USE_TLS") or query.get("tls"),
        "use_ssl": config.get("EMAIL_USE_SSL") or query.get("ssl"),
        "timeout": config.get("EMAIL_TIMEOUT") or 10,
    }
    backend = config["EMAIL_BACKEND"]
    if not backend.endswith("smtp.EmailBackend"):
        options = {}
    return {"BACKEND": backend, "OPTIONS": {k: v for k, v in options.items() if v not in (None, "")}}


MAILERS = {
    "default": _mailer_from_url(EMAIL_URL)
    if EMAIL_URL
    else {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
    }
}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Comeback <comeback@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -----------------------------------------------------------------------
# Redis (or any broker) only wakes workers up: every piece of pending work is a row in the
# database, and the beat sweepers pick up anything whose wake-up message was lost.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker" / "out"),
        "data_folder_out": str(VAR_DIR / "broker" / "out"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": 3600}
)
if CELERY_BROKER_URL.startswith("filesystem"):
    for _folder in ("out", "processed"):
        (VAR_DIR / "broker" / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
# A web request must never hang because the broker is down: publish retries are bounded
# and a lost wake-up is caught by the next sweep.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# --- REST framework -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "checkouts.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": None,
    # Wix's error envelope ({message, details}) for every /ecom/ and /api/ route.
    "EXCEPTION_HANDLER": "checkouts.api.errors.wix_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Comeback API",
    "DESCRIPTION": "Abandoned checkouts: a Wix-compatible API under /ecom/v1/ and a REST API under /api/v1/.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AbandonedCheckoutStatus": "checkouts.models.AbandonedCheckout.Status",
        "ActivityType": "checkouts.models.Activity.Type",
    },
}

# --- Content-Security-Policy (Django's built-in) -------------------------------------------
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "https:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Comeback ------------------------------------------------------------------------
# The address buyers and apps use to reach this install: recovery links and unsubscribe
# links in emails are built on it.
COMEBACK_PUBLIC_URL = env("COMEBACK_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
# How many abandoned checkouts one sweep transaction turns over at a time.
COMEBACK_SWEEP_BATCH_SIZE = env.int("COMEBACK_SWEEP_BATCH_SIZE", default=2000)
# How long an ingested event id is remembered for replay detection.
COMEBACK_INGEST_DEDUP_DAYS = env.int("COMEBACK_INGEST_DEDUP_DAYS", default=7)

# --- JSON APIs: cache, rate limits, body limits (checkouts.api) -------------------------
# Rate-limit counters must be shared by every web process: Redis when CACHE_URL (or
# REDIS_URL) is set, otherwise a file cache under var/, which processes on one host share.
CACHE_URL = env("CACHE_URL", default="") or env("REDIS_URL", default="")
CACHES = {
    "default": env.cache_url_config(CACHE_URL)
    if CACHE_URL
    else {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
        # Culling would drop live rate-limit windows; one entry per key and minute is small.
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}
# Requests per API key (or signed-in user): "<n>/<second|minute|hour>". Ingest has its own
# budget because one request carries up to 1,000 events.
COMEBACK_API_RATE_LIMIT = env("COMEBACK_API_RATE_LIMIT", default="600/minute")
COMEBACK_INGEST_RATE_LIMIT = env("COMEBACK_INGEST_RATE_LIMIT", default="120/minute")
# Request bodies above these sizes are refused with 413 before they are parsed.
COMEBACK_API_MAX_BODY_BYTES = env.int("COMEBACK_API_MAX_BODY_BYTES", default=256 * 1024)
COMEBACK_INGEST_MAX_BYTES = env.int("COMEBACK_INGEST_MAX_BYTES", default=8 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
