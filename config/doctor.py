"""What `manage.py doctor` checks: the configuration and the services, each finding in plain words.

In production settings (COMEBACK_PRODUCTION) development defaults are errors; in the
embedded default they are fine and said to be.
"""

import ipaddress
import smtplib
import ssl
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core import checks
from django.core.management.utils import get_random_secret_key
from django.http.request import validate_host

from . import probes

DEVELOPMENT_MAIL_BACKENDS = {
    "django.core.mail.backends.filebased.EmailBackend": "written to files",
    "django.core.mail.backends.console.EmailBackend": "printed to the console",
    "django.core.mail.backends.locmem.EmailBackend": "kept in memory",
    "django.core.mail.backends.dummy.EmailBackend": "thrown away",
}
SMTP_TIMEOUT_SECONDS = 5
# Django's own bar for a secret key (security.W009).
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Finding:
    level: Level
    topic: str
    message: str


def _ok(topic: str, message: str) -> Finding:
    return Finding(Level.OK, topic, message)


def _problem(production: bool, topic: str, message: str) -> Finding:
    """An error in production, a warning in the embedded default."""
    return Finding(Level.ERROR if production else Level.WARNING, topic, message)


def _debug(production: bool) -> list[Finding]:
    if not settings.DEBUG:
        return [_ok("debug", "DEBUG is off.")]
    if production:
        return [
            Finding(Level.ERROR, "debug", "DEBUG is on: error pages show settings and code to anyone. Turn it off.")
        ]
    return [_ok("debug", "DEBUG is on (fine for local development, never in production).")]


def _secret_key(production: bool) -> list[Finding]:
    key = settings.SECRET_KEY or ""
    if not key:
        return [
            Finding(Level.ERROR, "secret key", "DJANGO_SECRET_KEY is empty: sessions and signed links are forgeable.")
        ]
    weak = len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_UNIQUE
    if weak or key.startswith("django-insecure-") or "not-secret" in key:
        advice = f"use at least {SECRET_KEY_MIN_LENGTH} random characters, for example {get_random_secret_key()!r}"
        if production:
            return [Finding(Level.ERROR, "secret key", f"DJANGO_SECRET_KEY is weak or a development key: {advice}.")]
        return [_ok("secret key", "The development secret key is in use (fine locally; production needs its own).")]
    return [_ok("secret key", f"DJANGO_SECRET_KEY is set ({len(key)} characters).")]


def _allowed_hosts(production: bool) -> list[Finding]:
    hosts = settings.ALLOWED_HOSTS
    if not hosts:
        return [_problem(production, "allowed hosts", "DJANGO_ALLOWED_HOSTS is empty: every request will be refused.")]
    if "*" in hosts and production:
        return [
            Finding(
                Level.ERROR,
                "allowed hosts",
                "DJANGO_ALLOWED_HOSTS contains '*': any Host header is accepted, so links built from it can be "
                "pointed at another site. List your host names.",
            )
        ]
    return [_ok("allowed hosts", f"Answering for {', '.join(hosts)}.")]


def _public_url(production: bool) -> list[Finding]:
    url = settings.COMEBACK_PUBLIC_URL
    parts = urlsplit(url)
    findings = []
    if parts.scheme != "https" and production:
        message = f"COMEBACK_PUBLIC_URL is {url!r}: recovery and unsubscribe links in emails must use https."
        findings.append(Finding(Level.ERROR, "public url", message))
    if parts.hostname and not validate_host(parts.hostname, settings.ALLOWED_HOSTS):
        findings.append(
            Finding(
                Level.WARNING,
                "public url",
                f"The host of COMEBACK_PUBLIC_URL ({parts.hostname}) is not in DJANGO_ALLOWED_HOSTS: "
                "links in emails would lead to an error page.",
            )
        )
    return findings or [_ok("public url", f"Links are built on {url}.")]


def _services(production: bool) -> list[Finding]:
    findings = []
    for probe in probes.readiness():
        if probe.ok:
            findings.append(_ok(probe.name, probe.detail))
        elif probe.name == "scheduler" and not production:
            findings.append(Finding(Level.WARNING, probe.name, f"{probe.detail} (`make run` starts one)"))
        else:
            findings.append(Finding(Level.ERROR, probe.name, probe.detail))
    if not production:
        return findings
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine.endswith("sqlite3"):
        message = "SQLite in production: one machine only. Set DATABASE_URL to PostgreSQL."
        findings.append(Finding(Level.WARNING, "database", message))
    elif not getattr(settings, "DATABASE_STATEMENT_TIMEOUT", 0):
        message = "DATABASE_STATEMENT_TIMEOUT is 0: a runaway query can hold a web worker until gunicorn kills it."
        findings.append(Finding(Level.WARNING, "database", message))
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        message = "The filesystem broker works only while web and workers share this disk. Use Redis."
        findings.append(Finding(Level.WARNING, "broker", message))
    return findings


def _smtp_answers(options: dict) -> None:
    """Connect, greet and leave: proves the server and TLS work without sending anything."""
    host, port = options["host"], options.get("port") or 25
    timeout = min(options.get("timeout") or SMTP_TIMEOUT_SECONDS, SMTP_TIMEOUT_SECONDS)
    if options.get("use_ssl"):
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        client.ehlo_or_helo_if_needed()
        if options.get("use_tls"):
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        client.noop()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _mail(production: bool) -> list[Finding]:
    mailer = settings.MAILERS.get("default", {})
    backend = mailer.get("BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    options = mailer.get("OPTIONS", {})
    findings = []
    if backend in DEVELOPMENT_MAIL_BACKENDS:
        what = DEVELOPMENT_MAIL_BACKENDS[backend]
        if production:
            message = f"Mail is {what}, not sent: buyers get nothing. Set EMAIL_URL to your SMTP server."
            findings.append(Finding(Level.ERROR, "mail", message))
        else:
            findings.append(_ok("mail", f"Mail is {what} (the embedded default; set EMAIL_URL to send)."))
    elif backend.endswith("smtp.EmailBackend"):
        host, port = options.get("host"), options.get("port") or 25
        if options.get("use_tls") and options.get("use_ssl"):
            findings.append(Finding(Level.ERROR, "mail", "EMAIL_URL asks for both STARTTLS and SSL: choose one."))
            return findings
        if not (options.get("use_tls") or options.get("use_ssl")) and host and not _is_loopback(host):
            findings.append(
                Finding(
                    Level.WARNING,
                    "mail",
                    f"Mail to {host}:{port} is not encrypted: use smtp+tls:// (STARTTLS) or ?ssl=True in EMAIL_URL.",
                )
            )
        try:
            _smtp_answers(options)
        except (OSError, smtplib.SMTPException) as exc:
            message = (
                f"The mail server {host}:{port} does not answer ({probes.describe_failure(exc)}). Check EMAIL_URL."
            )
            findings.append(Finding(Level.ERROR, "mail", message))
        else:
            findings.append(_ok("mail", f"The mail server {host}:{port} answers (nothing was sent)."))
    else:
        findings.append(_ok("mail", f"Mail goes through {backend}."))
    findings.extend(_dispatch_lock_hold(options if backend.endswith("smtp.EmailBackend") else {}))
    sender = settings.DEFAULT_FROM_EMAIL
    if production and sender.rstrip(">").endswith(("@localhost", "@example.com")):
        findings.append(
            Finding(Level.WARNING, "mail", f"DEFAULT_FROM_EMAIL is {sender!r}: buyers' mail servers will reject it.")
        )
    return findings


def _dispatch_lock_hold(smtp_options: dict) -> list[Finding]:
    """A dispatcher batch holds its checkouts' row locks while it sends; a completion arriving
    meanwhile waits for them. Its budget plus one send must fit in a web statement's time."""
    limit = getattr(settings, "DATABASE_STATEMENT_TIMEOUT", 0)
    if not limit:
        return []
    hold = settings.COMEBACK_DISPATCH_SEND_BUDGET_SECONDS + (smtp_options.get("timeout") or 0)
    if hold < limit:
        return []
    message = (
        f"A dispatcher batch may hold row locks for {hold:g} s (COMEBACK_DISPATCH_SEND_BUDGET_SECONDS plus the "
        f"SMTP timeout), not under DATABASE_STATEMENT_TIMEOUT ({limit} s): a checkout completed meanwhile "
        "would fail with a 503. Lower the budget or the SMTP timeout."
    )
    return [Finding(Level.WARNING, "mail", message)]


def _static_files(production: bool) -> list[Finding]:
    if settings.DEBUG and not production:
        return [_ok("static files", "Served from the source folders by the development server.")]
    root = Path(settings.STATIC_ROOT)
    sources = {path for finder in get_finders() for path, _ in finder.list(["CVS", ".*", "*~"])}
    missing = sorted(path for path in sources if not (root / path).exists())
    if not root.is_dir() or len(missing) == len(sources):
        message = f"Static files are not collected in {root}: run `manage.py collectstatic --noinput`."
        return [_problem(production, "static files", message)]
    if missing:
        message = (
            f"{len(missing)} of {len(sources)} static files are missing from {root} (for example {missing[0]}): "
            "run `manage.py collectstatic --noinput` after every upgrade."
        )
        return [_problem(production, "static files", message)]
    return [_ok("static files", f"All {len(sources)} static files are collected in {root}.")]


def _webhooks(production: bool) -> list[Finding]:
    # Defaults mirror the webhooks settings: https only, no loopback targets.
    findings = []
    if getattr(settings, "COMEBACK_WEBHOOK_ALLOW_HTTP", False):
        findings.append(
            _problem(
                production,
                "webhooks",
                "COMEBACK_WEBHOOK_ALLOW_HTTP is on: webhook payloads may travel unencrypted.",
            )
        )
    if getattr(settings, "COMEBACK_WEBHOOK_ALLOW_LOOPBACK", False):
        findings.append(
            _problem(
                production,
                "webhooks",
                "COMEBACK_WEBHOOK_ALLOW_LOOPBACK is on: a merchant's endpoint can make this server call "
                "services on its own machine.",
            )
        )
    return findings or [_ok("webhooks", "Webhook endpoints must be https and may not point at internal addresses.")]


def _encryption(production: bool) -> list[Finding]:
    """The keys of the secrets at rest parse, and open a stored value of every encrypted column."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    from checkouts.encryption import DecryptionError, fernet
    from checkouts.services.secrets import encrypted_fields

    keys = list(getattr(settings, "COMEBACK_ENCRYPTION_KEYS", []))
    try:
        fernet()
    except ImproperlyConfigured as exc:
        return [Finding(Level.ERROR, "encryption", str(exc))]
    if keys[0] == getattr(settings, "DEVELOPMENT_ENCRYPTION_KEY", None):
        message = "Secrets are encrypted with the public development key: set COMEBACK_ENCRYPTION_KEYS."
        return [Finding(Level.ERROR, "encryption", message) if production else _ok("encryption", message)]
    try:
        for model, names in encrypted_fields().items():
            model._default_manager.order_by("pk").values_list(*names).first()  # reading decrypts: the check
    except DecryptionError as exc:
        return [Finding(Level.ERROR, "encryption", str(exc))]
    except DatabaseError:
        return []  # the database finding already says what is wrong
    retired = f", {len(keys) - 1} older key(s) for reading only" if len(keys) > 1 else ""
    return [_ok("encryption", f"Stored secrets open with COMEBACK_ENCRYPTION_KEYS (1 key encrypts{retired}).")]


def _erasure_leftovers(production: bool) -> list[Finding]:
    """Where copies of buyers' data sit outside the database, which an erasure does not reach.

    Said as information, not as a problem: the operator must know to purge these files (or
    keep them short-lived) when a buyer asks to be erased.
    """
    files = []
    mailer = settings.MAILERS.get("default", {})
    if mailer.get("BACKEND", "").endswith("filebased.EmailBackend"):
        files.append(f"every email sent, addresses and bodies in full, in {mailer.get('OPTIONS', {}).get('file_path')}")
    notifications = settings.COMEBACK_NOTIFICATIONS
    if notifications.get("BACKEND", "").endswith("filebased.Backend"):
        files.append(
            f"every text message, phone numbers in full, in {notifications.get('OPTIONS', {}).get('file_path')}"
        )
    cache = settings.CACHES.get("default", {})
    if cache.get("BACKEND", "").endswith("FileBasedCache"):
        files.append(f"rate-limit counters (no buyer data) in {cache.get('LOCATION')}")
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("processed_folder", "var/broker/")
        files.append(f"task messages (ids only, no buyer data) in {Path(folder).parent}")
    message = "An erasure changes the database only. " + (
        "Files that keep copies: " + "; ".join(files) + ". "
        if files
        else "No mail, text-message, cache or broker files are written. "
    )
    message += (
        "Logs go to standard output (emails and phones masked): your process manager keeps them. "
        "Purge these and age out backups to complete an erasure (docs/deployment.md, Privacy and retention)."
    )
    return [_ok("privacy", message)]


def _deploy_checks(production: bool) -> list[Finding]:
    if not production:
        return []
    issues = [issue for issue in checks.run_checks(include_deployment_checks=True) if not issue.is_silenced()]
    issues = [issue for issue in issues if issue.level >= checks.WARNING]
    if not issues:
        return [_ok("django checks", "`manage.py check --deploy` finds nothing.")]
    return [
        Finding(
            Level.ERROR if issue.level >= checks.ERROR else Level.WARNING,
            "django checks",
            f"{issue.id}: {issue.msg}" + (f" {issue.hint}" if issue.hint else ""),
        )
        for issue in issues
    ]


def diagnose() -> list[Finding]:
    """Every finding, in the order an operator would fix them."""
    production = bool(getattr(settings, "COMEBACK_PRODUCTION", False))
    findings: list[Finding] = []
    for section in (
        _debug,
        _secret_key,
        _allowed_hosts,
        _public_url,
        _services,
        _mail,
        _static_files,
        _webhooks,
        _encryption,
        _erasure_leftovers,
        _deploy_checks,
    ):
        findings.extend(section(production))
    return findings
