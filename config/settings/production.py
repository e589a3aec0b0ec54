"""Production: everything secret or site-specific comes from the environment, with no default.

`manage.py check --deploy --fail-level WARNING` passes on these settings (CI runs it) and
`manage.py doctor` checks what Django's checks cannot see: the database, the broker, the
scheduler, the mail server and the public URL.
"""

from django.core.exceptions import ImproperlyConfigured

from config.logs import logging_config

from .base import *  # noqa: F403
from .base import DATABASES, MIDDLEWARE, env, postgres_statement_timeout


def _required(name: str, hint: str) -> str:
    value = env.str(name, default="").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} is not set. Production needs it: {hint}")
    return value


COMEBACK_PRODUCTION = True
DEBUG = False
SECRET_KEY = _required(
    "DJANGO_SECRET_KEY",
    "a long random value kept secret, for example the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`.",
)
ALLOWED_HOSTS = [
    host.strip()
    for host in _required(
        "DJANGO_ALLOWED_HOSTS", "the host names this install answers to, comma separated (comeback.example.com)."
    ).split(",")
    if host.strip()
]
COMEBACK_ENCRYPTION_KEYS = [
    key.strip()
    for key in _required(
        "COMEBACK_ENCRYPTION_KEYS",
        "Fernet keys that encrypt the secrets stored in the database, comma separated, the newest first; "
        "make one with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`.",
    ).split(",")
    if key.strip()
]
if DEVELOPMENT_ENCRYPTION_KEY in COMEBACK_ENCRYPTION_KEYS:  # noqa: F405
    raise ImproperlyConfigured("COMEBACK_ENCRYPTION_KEYS holds the development key, which is public: make your own.")
# Keys retired by a rotation: sessions and signed links made with them stay valid until
# they expire, while everything new is signed with DJANGO_SECRET_KEY.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- HTTPS -------------------------------------------------------------------------------
# TLS ends at the reverse proxy, which must set X-Forwarded-Proto (and strip any copy the
# client sent). The probes answer plain HTTP: they are exempt from the redirect and are
# dispatched before the host check (config.health.HealthProbeMiddleware).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
# One year, subdomains included. The preload flag only takes effect once the owner of the
# registrable domain submits it to the browsers' list; turn it off if that must never happen.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

# --- Static files ----------------------------------------------------------------------
# gunicorn serves the collected files itself (WhiteNoise, gzip), so neither the proxy nor the
# compose file needs a static location. No manifest of hashed names: a template naming a
# file that was not collected must cost one missing asset, never a 500 on the page.
_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
MIDDLEWARE = [*MIDDLEWARE[: _security + 1], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[_security + 1 :]]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Mail ----------------------------------------------------------------------------------
# Without EMAIL_URL production hands mail to an MTA on this machine (SMTP, localhost:25),
# Django's own default, rather than writing files nobody reads. `manage.py doctor` says
# whether that server answers.
if not env.str("EMAIL_URL", default=""):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "localhost", "port": 25, "timeout": 10},
        }
    }

# --- Timeouts --------------------------------------------------------------------------------
# A statement running longer than this is cancelled by PostgreSQL, so a slow query ends as a
# 503 inside gunicorn's --timeout (30 s) instead of a killed worker. Workers may raise it (their
# systemd unit does), and migrations run with 0 (no limit); see docs/deployment.md.
DATABASE_STATEMENT_TIMEOUT = env.int("DATABASE_STATEMENT_TIMEOUT", default=20)
postgres_statement_timeout(DATABASES["default"], DATABASE_STATEMENT_TIMEOUT)

# --- Logs ----------------------------------------------------------------------------------
COMEBACK_LOG_FORMAT = env.str("COMEBACK_LOG_FORMAT", default="json")
LOGGING = logging_config(COMEBACK_LOG_FORMAT, env.str("DJANGO_LOG_LEVEL", default="INFO"))
