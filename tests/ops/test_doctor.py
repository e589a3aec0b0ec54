"""`manage.py doctor` says in plain words what is wrong, and exits non-zero when something is."""

import io
import socketserver
import threading

import pytest
from django.core.management import CommandError, call_command

from checkouts.services import scheduler_heartbeat_record


def run_doctor() -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("doctor", stdout=out, no_color=True)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


@pytest.fixture
def production(settings, tmp_path):
    """Production rules, with everything a careful operator would have set."""
    settings.COMEBACK_PRODUCTION = True
    settings.DEBUG = False
    settings.SECRET_KEY = "k" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
    settings.ALLOWED_HOSTS = ["comeback.example.com"]
    settings.COMEBACK_PUBLIC_URL = "https://comeback.example.com"
    settings.DEFAULT_FROM_EMAIL = "Shop <shop@mail.example.org>"
    settings.STATIC_ROOT = str(tmp_path / "static")
    return settings


class _SmtpGreeter(socketserver.StreamRequestHandler):
    """Just enough SMTP to greet a client and record every command it sends."""

    def handle(self):
        self.wfile.write(b"220 mail.test ESMTP\r\n")
        for raw in self.rfile:
            command = raw.decode().strip().upper()
            self.server.commands.append(command.split(" ")[0])
            if command.startswith("EHLO"):
                self.wfile.write(b"250-mail.test\r\n250 8BITMIME\r\n")
            elif command == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpGreeter)
    server.commands = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_a_healthy_embedded_install_passes():
    scheduler_heartbeat_record()

    output, error = run_doctor()

    assert error is None
    assert "✓ database:" in output
    assert "✓ migrations: all applied" in output
    assert "✓ broker:" in output
    assert "✓ scheduler: last heartbeat 0 s ago" in output
    assert "0 problem(s)" in output


@pytest.mark.django_db
def test_production_mistakes_are_each_named_and_fail_the_command(production, closed_port):
    production.DEBUG = True
    production.SECRET_KEY = "short"
    production.ALLOWED_HOSTS = ["*"]
    production.COMEBACK_PUBLIC_URL = "http://comeback.example.com"
    production.COMEBACK_WEBHOOK_ALLOW_HTTP = True
    production.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = True
    production.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port},
        }
    }

    output, error = run_doctor()

    assert error is not None
    assert "Fix the problems marked ✗" in str(error)
    for words in [
        "✗ debug: DEBUG is on: error pages show settings and code to anyone. Turn it off.",
        "✗ secret key: DJANGO_SECRET_KEY is weak or a development key: use at least 50 random characters",
        "✗ allowed hosts: DJANGO_ALLOWED_HOSTS contains '*'",
        "✗ public url: COMEBACK_PUBLIC_URL is 'http://comeback.example.com': recovery and unsubscribe links",
        "✗ scheduler: no heartbeat yet: is `celery beat` running, and at least one worker?",
        f"✗ mail: The mail server 127.0.0.1:{closed_port} does not answer (ConnectionRefusedError",
        "✗ static files: Static files are not collected in",
        "✗ webhooks: COMEBACK_WEBHOOK_ALLOW_HTTP is on",
        "✗ webhooks: COMEBACK_WEBHOOK_ALLOW_LOOPBACK is on",
        "django checks: security.W018",  # Django's own deploy check: DEBUG
    ]:
        assert words in output, words


@pytest.mark.django_db
def test_a_stale_scheduler_and_development_mail_are_errors_in_production(production):
    from datetime import timedelta

    from django.utils import timezone

    scheduler_heartbeat_record(at=timezone.now() - timedelta(minutes=10))
    production.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.filebased.EmailBackend"}}

    output, error = run_doctor()

    assert error is not None
    assert "✗ scheduler: last heartbeat 10\xa0minutes ago" in output
    assert "✗ mail: Mail is written to files, not sent: buyers get nothing. Set EMAIL_URL" in output


@pytest.mark.django_db
def test_the_mail_server_is_greeted_but_nothing_is_sent(production, smtp_server):
    host, port = smtp_server.server_address
    production.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {"host": host, "port": port}}
    }

    output, _ = run_doctor()

    assert f"✓ mail: The mail server {host}:{port} answers (nothing was sent)." in output
    assert "EHLO" in smtp_server.commands
    assert not {"MAIL", "RCPT", "DATA", "AUTH"} & set(smtp_server.commands)


@pytest.mark.django_db
def test_unencrypted_mail_to_a_remote_server_is_a_warning(production):
    production.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "192.0.2.25", "port": 1, "timeout": 1},
        }
    }

    output, _ = run_doctor()

    assert "! mail: Mail to 192.0.2.25:1 is not encrypted: use smtp+tls://" in output


@pytest.mark.django_db
def test_partly_collected_static_files_are_named(production, tmp_path):
    (tmp_path / "static" / "admin" / "css").mkdir(parents=True)
    (tmp_path / "static" / "admin" / "css" / "base.css").write_text("body {}")

    output, error = run_doctor()

    assert error is not None
    assert "static files are missing from" in output
    assert "run `manage.py collectstatic --noinput` after every upgrade" in output


@pytest.mark.django_db
def test_a_send_budget_longer_than_a_web_statement_may_wait_is_a_warning(production, smtp_server):
    host, port = smtp_server.server_address
    production.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": host, "port": port, "timeout": 10},
        }
    }
    production.DATABASE_STATEMENT_TIMEOUT = 20
    production.COMEBACK_DISPATCH_SEND_BUDGET_SECONDS = 5

    assert "row locks" not in run_doctor()[0]

    production.COMEBACK_DISPATCH_SEND_BUDGET_SECONDS = 30
    output, _ = run_doctor()

    assert "! mail: A dispatcher batch may hold row locks for 40 s" in output
    assert "not under DATABASE_STATEMENT_TIMEOUT (20 s)" in output


def test_doctor_says_which_files_keep_what_an_erasure_does_not_reach(settings, tmp_path):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path / "mail")},
        }
    }
    settings.COMEBACK_NOTIFICATIONS = {
        "BACKEND": "automations.notify.backends.filebased.Backend",
        "OPTIONS": {"file_path": str(tmp_path / "texts")},
    }
    output, _ = run_doctor()
    (line,) = [line for line in output.splitlines() if "privacy:" in line]
    assert "An erasure changes the database only" in line
    assert f"addresses and bodies in full, in {tmp_path / 'mail'}" in line
    assert f"phone numbers in full, in {tmp_path / 'texts'}" in line
    assert "Logs go to standard output" in line

    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.COMEBACK_NOTIFICATIONS = {"BACKEND": "automations.notify.backends.locmem.Backend"}
    output, _ = run_doctor()
    assert str(tmp_path) not in output


def test_doctor_says_when_stored_secrets_do_not_open_with_the_keys(settings, db):
    from cryptography.fernet import Fernet

    from tests.factories import StoreFactory

    settings.COMEBACK_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    StoreFactory()  # its signing key is encrypted under that key
    output, _ = run_doctor()
    assert "✓ encryption: Stored secrets open with COMEBACK_ENCRYPTION_KEYS" in output

    settings.COMEBACK_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the key was lost
    output, error = run_doctor()
    assert "✗ encryption: Cannot decrypt checkouts.Store.webhook_private_key" in output and error is not None
