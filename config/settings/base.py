"""Settings shared by every environment; each value can be overridden from the environment."""

import re
from datetime import timedelta
from pathlib import Path

import environ

from config.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()
# Everything the embedded defaults keep on disk (SQLite, broker, mail, cache, the scheduler's
# schedule): one folder, movable so a test can run `make run`'s layout on a copy of its own.
VAR_DIR = Path(env("COMEBACK_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
# Secrets at rest (webhook secrets, stores' signing keys, connection credentials) are
# encrypted with these Fernet keys (checkouts.encryption): the first encrypts, all decrypt.
# Development and tests use this fixed, public key (base64 of "comeback-development-only-not-se");
# production requires its own and refuses this one.
DEVELOPMENT_ENCRYPTION_KEY = "Y29tZWJhY2stZGV2ZWxvcG1lbnQtb25seS1ub3Qtc2U="
COMEBACK_ENCRYPTION_KEYS = env.list("COMEBACK_ENCRYPTION_KEYS", default=[DEVELOPMENT_ENCRYPTION_KEY])

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
    "axes",
    "checkouts",
    "automations",
    # The demo data (`seed_demo`): depends on both apps, so neither carries demo code.
    "config.demo",
]

MIDDLEWARE = [
    # Load-balancer probes are answered first: no host check, no HTTPS redirect, no session.
    "config.health.HealthProbeMiddleware",
    # Every log line of a request carries its id; the response returns it.
    "config.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outside everything that can fail: an error page made by an inner middleware (a 503
    # during a database outage) still gets the framing and content policies.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Platform webhooks and beacons (/connect/) go straight to their views from here.
    "config.fastpath.ReceiverFastPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "checkouts.tenancy.CurrentStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the "too many attempts" page.
    "axes.middleware.AxesMiddleware",
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
                # Navigation, header widgets and the store switcher for every dashboard page.
                "checkouts.context_processors.dashboard",
                # The "background work is stalled" banner (signed-in dashboard pages).
                "config.context_processors.background_stall",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# The embedded default is a SQLite file under var/. WAL lets the web process read while
# the worker writes; IMMEDIATE takes the write lock at BEGIN so two writers queue on the
# busy timeout instead of failing with "database is locked" halfway through.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'comeback.sqlite3'}")}
# Seconds: with PostgreSQL down or unreachable a request fails (503) instead of hanging.
DATABASE_CONNECT_TIMEOUT = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
# Statements sent with server-side parameters (a Shopify delivery's insert; Django's own cursors
# bind client-side and are never prepared) become prepared statements after 5 runs on a
# connection: PostgreSQL parses and plans them once (~0.1 ms less of its CPU a delivery).
# Django turns this off unless OPTIONS asks; PgBouncer 1.21+ keeps prepared statements in
# transaction mode (max_prepared_statements): set 0 behind an older one, or one that has it at 0.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DATABASE_PREPARED_STATEMENTS:
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, whose per-request health check reads the socket instead of
        # running SELECT 1 (one round trip less per request; see config/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "config.postgresql"


def postgres_statement_timeout(database: dict, seconds: int) -> None:
    """Have PostgreSQL cancel any statement on this connection that runs longer than `seconds` (0: never)."""
    if database["ENGINE"] not in ("django.db.backends.postgresql", "config.postgresql"):
        return
    options = database.setdefault("OPTIONS", {})
    flags = re.sub(r"-c\s*statement_timeout=\S+", "", options.get("options", "")).split()
    if seconds > 0:
        flags += ["-c", f"statement_timeout={seconds}s"]
    options["options"] = " ".join(flags)
    if not flags:
        del options["options"]


# Seconds; 0 leaves statements unbounded. Production sets a default (see production.py).
DATABASE_STATEMENT_TIMEOUT = env.int("DATABASE_STATEMENT_TIMEOUT", default=0)
postgres_statement_timeout(DATABASES["default"], DATABASE_STATEMENT_TIMEOUT)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The sign-in pages live in the dashboard's URL namespace (checkouts/urls.py).
LOGIN_URL = "checkouts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "checkouts:login"

# --- Sign-in throttling (django-axes; password reset: checkouts/views/accounts.py) -------------
# Failed sign-ins are counted per user name and per client address, in the database (one
# table, the same on SQLite and PostgreSQL), on every page that signs in: /accounts/login/
# and /admin/login/. At the limit both the user name and the address are refused, even with
# the right password, until the cool-off has passed since the last failure. The user name is
# counted whether or not such a user exists, so the lockout says nothing about who exists.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("COMEBACK_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("COMEBACK_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Attempts made while locked out do not push the end of the lockout further: a stranger
# guessing at an account cannot keep its owner out for longer than one cool-off.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
# The sign-in page again, with "Too many attempts. Try again in N minutes.", status 429.
AXES_LOCKOUT_CALLABLE = "checkouts.views.accounts.login_locked_out"
# Only failures are kept (and forgotten after the cool-off); a row per successful sign-in
# would grow without end.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # no banner on every start of every process
# The proxies whose X-Forwarded-For names the client (config/client_ip.py): the same list
# gunicorn trusts for X-Forwarded-Proto. Addresses or networks, comma separated; "*" for any.
COMEBACK_TRUSTED_PROXIES = env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1", "::1"])
# Password-reset emails: at most this many per email address and per client address.
COMEBACK_PASSWORD_RESET_EMAIL_RATE = env("COMEBACK_PASSWORD_RESET_EMAIL_RATE", default="3/hour")
COMEBACK_PASSWORD_RESET_IP_RATE = env("COMEBACK_PASSWORD_RESET_IP_RATE", default="20/hour")

# --- I18n / time ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# The languages buyers read: recovery emails, texts, the unsubscribe and recovery landing pages
# (catalogues in locale/, compiled .mo files committed). The dashboard stays in English.
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch"), ("es", "Español"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]
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
# The filesystem transport ignores the host; naming one keeps kombu from warning that none was given.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost/")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker" / "out"),
        "data_folder_out": str(VAR_DIR / "broker" / "out"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        # Broadcast (remote control) tables: under var/, not in whatever folder the worker starts in.
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # A hung Redis must not hang a request that enqueues: socket reads give up after 5 s
    # (the workers' blocking reads poll every second, well inside it). A publisher with no
    # connection tries to connect once (`max_retries: 0`) instead of retrying for the whole
    # connection timeout: a stopped Redis costs a wake-up milliseconds, not 2 s. Workers and
    # beat pass their own reconnect policy (broker_connection_max_retries) and keep it.
    else {"visibility_timeout": 3600, "socket_timeout": 5, "socket_connect_timeout": 2, "max_retries": 0}
)
if CELERY_BROKER_URL.startswith("filesystem"):
    for _folder in ("out", "processed", "control"):
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
# A recovery link opened again by the same visitor (address + browser) within this many
# minutes is one click.
COMEBACK_CLICK_WINDOW_MINUTES = env.int("COMEBACK_CLICK_WINDOW_MINUTES", default=30)
# Dashboard pages say so when the scheduler's heartbeat is stale (config/context_processors.py).
COMEBACK_STALL_BANNER = env.bool("COMEBACK_STALL_BANNER", default=True)
# How many abandoned checkouts one sweep transaction turns over at a time.
COMEBACK_SWEEP_BATCH_SIZE = env.int("COMEBACK_SWEEP_BATCH_SIZE", default=2000)
# Threads (each with its own PostgreSQL connection) one sweep runs its batches in; SQLite uses one.
COMEBACK_SWEEP_THREADS = env.int("COMEBACK_SWEEP_THREADS", default=2)
# How long an ingested event id is remembered for replay detection.
COMEBACK_INGEST_DEDUP_DAYS = env.int("COMEBACK_INGEST_DEDUP_DAYS", default=7)
# A web process wakes the webhook inbox's drain at most this often (it drains until empty; the beat
# ticks every few seconds as the safety net). Tests set 0: every delivery wakes it.
COMEBACK_INBOX_WAKE_SECONDS = env.float("COMEBACK_INBOX_WAKE_SECONDS", default=0.5)
# Abandoned checkouts older than this many days are deleted by a daily task (0 keeps them forever).
COMEBACK_RETENTION_DAYS = env.int("COMEBACK_RETENTION_DAYS", default=90)

# --- Operations (config/health.py, config/logs.py, config/errors.py, manage.py doctor) -----------
# True only in production settings: `manage.py doctor` then treats development defaults as errors.
COMEBACK_PRODUCTION = False
# "json": one JSON object per line (production's default), "plain": one readable line (local).
# Either way buyer emails and phones are masked and each line of a request carries its id.
COMEBACK_LOG_FORMAT = env.str("COMEBACK_LOG_FORMAT", default="plain")
LOGGING = logging_config(COMEBACK_LOG_FORMAT, env.str("DJANGO_LOG_LEVEL", default="INFO"))

# --- Webhooks (checkouts/webhooks) ----------------------------------------------------------
# Endpoint URLs must be https unless this is on (local settings and tests turn it on).
COMEBACK_WEBHOOK_ALLOW_HTTP = env.bool("COMEBACK_WEBHOOK_ALLOW_HTTP", default=False)
# Loopback addresses (127.0.0.0/8, ::1) are refused like any internal address unless this is
# on: the embedded default turns it on so the demo can post to a receiver on this machine.
COMEBACK_WEBHOOK_ALLOW_LOOPBACK = env.bool("COMEBACK_WEBHOOK_ALLOW_LOOPBACK", default=False)
# The `appId` in the identity of wix-jwt deliveries (what a Wix app would know as its app id).
COMEBACK_WEBHOOK_APP_ID = env("COMEBACK_WEBHOOK_APP_ID", default="8d0f3e6c-5a3b-4c1e-9f57-0c0ab5ac0b1e")
# How long a claimed delivery belongs to its worker; after that the sweeper claims it again.
# It must exceed one attempt (15 s of HTTP plus DNS) and the time a claimed row waits in the queue.
COMEBACK_WEBHOOK_LEASE_SECONDS = env.int("COMEBACK_WEBHOOK_LEASE_SECONDS", default=120)

# --- Automations --------------------------------------------------------------------
# Text messages to buyers go through a backend chosen like Django's email backends:
# "file" (embedded default: one JSON file per message under var/notifications/), "console",
# "locmem" (tests), "http" (an SMS gateway: URL + bearer token, with timeouts) or a dotted path.
_NOTIFICATION_BACKENDS = {
    "file": "automations.notify.backends.filebased.Backend",
    "console": "automations.notify.backends.console.Backend",
    "locmem": "automations.notify.backends.locmem.Backend",
    "http": "automations.notify.backends.http.Backend",
}
_notification_backend = env("COMEBACK_NOTIFICATION_BACKEND", default="file")
COMEBACK_NOTIFICATIONS = {
    "BACKEND": _NOTIFICATION_BACKENDS.get(_notification_backend, _notification_backend),
    "OPTIONS": {
        "file": {"file_path": env("COMEBACK_NOTIFICATION_FILE_PATH", default=str(VAR_DIR / "notifications"))},
        "http": {
            "url": env("COMEBACK_SMS_GATEWAY_URL", default=""),
            "token": env("COMEBACK_SMS_GATEWAY_TOKEN", default=""),
            "timeout": env.float("COMEBACK_SMS_GATEWAY_TIMEOUT", default=10.0),
            "sender": env("COMEBACK_SMS_SENDER", default=""),
        },
    }.get(_notification_backend, {}),
}
# The SMS gateway's bearer token when it reports STOP replies to /sms/opt-outs/ (unset: endpoint off).
COMEBACK_SMS_INBOUND_TOKEN = env("COMEBACK_SMS_INBOUND_TOKEN", default="")
# The dispatcher claims this many due steps per transaction; its lease must outlast a batch.
COMEBACK_DISPATCH_BATCH_SIZE = env.int("COMEBACK_DISPATCH_BATCH_SIZE", default=100)
# Threads one dispatcher run works its batches in on PostgreSQL (see scheduled_steps_dispatch).
# On 2 cores, rendering bound (in-memory mail): 3 did 5-18 % more steps/s than 2, 4 fewer than 3.
COMEBACK_DISPATCH_THREADS = env.int("COMEBACK_DISPATCH_THREADS", default=3)
COMEBACK_DISPATCH_LEASE_SECONDS = env.int("COMEBACK_DISPATCH_LEASE_SECONDS", default=300)
# A batch starts no new send after this many seconds and hands the rest back. A recovery that
# meets a batch waits for its row locks, so this plus one send (the SMTP timeout) should stay
# under the web's DATABASE_STATEMENT_TIMEOUT; `manage.py doctor` checks it.
COMEBACK_DISPATCH_SEND_BUDGET_SECONDS = env.float("COMEBACK_DISPATCH_SEND_BUDGET_SECONDS", default=5.0)
# A step whose send keeps failing is given up (SEND_FAILED) after this many attempts.
COMEBACK_DISPATCH_MAX_ATTEMPTS = env.int("COMEBACK_DISPATCH_MAX_ATTEMPTS", default=5)
# "Send recovery email now" refuses a second email to the same checkout within this window.
COMEBACK_MANUAL_EMAIL_GUARD_MINUTES = env.int("COMEBACK_MANUAL_EMAIL_GUARD_MINUTES", default=60)
# How long a team invitation link works (it works once).
COMEBACK_INVITATION_DAYS = env.int("COMEBACK_INVITATION_DAYS", default=7)

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
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # A stopped or hung Redis must cost a request at most a second: the rate limits then fail open.
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_connect_timeout": 1, "socket_timeout": 1})
# Requests per API key (or signed-in user): "<n>/<second|minute|hour>". Ingest has its own
# budget because one request carries up to 1,000 events.
COMEBACK_API_RATE_LIMIT = env("COMEBACK_API_RATE_LIMIT", default="600/minute")
COMEBACK_INGEST_RATE_LIMIT = env("COMEBACK_INGEST_RATE_LIMIT", default="120/minute")
# Browser events from comeback.js per client address (a buyer's browser sends a handful per checkout).
COMEBACK_BROWSER_RATE_LIMIT = env("COMEBACK_BROWSER_RATE_LIMIT", default="60/minute")
# Requests with a malformed, unknown or revoked API key per client address; past it the
# address gets 429 for a while, whatever key it sends (checkouts/api/auth.py).
COMEBACK_API_KEY_FAILURE_RATE = env("COMEBACK_API_KEY_FAILURE_RATE", default="60/minute")
# How long a process trusts the API key (and its store) it read: a revocation made in another
# process takes effect within this many seconds (checkouts/keyring.py). 0 reads it on every request.
COMEBACK_API_KEY_CACHE_SECONDS = env.int("COMEBACK_API_KEY_CACHE_SECONDS", default=5)
# Request bodies above these sizes are refused with 413 before they are parsed.
COMEBACK_API_MAX_BODY_BYTES = env.int("COMEBACK_API_MAX_BODY_BYTES", default=256 * 1024)
COMEBACK_INGEST_MAX_BYTES = env.int("COMEBACK_INGEST_MAX_BYTES", default=8 * 1024 * 1024)
# The JSON APIs read bodies through checkouts.api.parsers (the two limits above), never
# through request.body, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB) only bounds the
# dashboard's forms. A bulk form posts one field per selected row, up to 1,000 rows
# (checkouts.services.bulk.BULK_MAX_IDS) plus a few of its own: the view, not Django,
# refuses more with a message naming the limit.
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=10_000)
# A refused CSRF check is JSON in Wix's envelope on the API paths, Django's page elsewhere.
CSRF_FAILURE_VIEW = "config.errors.csrf_failure"
# Ingest refuses an `occurredAt` further ahead of this server's clock than this: an event
# from the future would make every later real update of its checkout look stale.
COMEBACK_INGEST_MAX_CLOCK_SKEW_SECONDS = env.int("COMEBACK_INGEST_MAX_CLOCK_SKEW_SECONDS", default=300)
