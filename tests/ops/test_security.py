"""Security settings: check --deploy is clean, and every page carries the security headers."""

import time

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from config.settings.base import postgres_statement_timeout

from .helpers import production_env, production_json, run_python

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def header_fields(value: str, separator: str) -> dict[str, str]:
    """`a x; b y` (CSP) or `a=1; b` (HSTS) as a dict."""
    fields = (part.strip().partition(separator) for part in value.split(";") if part.strip())
    return {name: rest for name, _, rest in fields}


def assert_security_headers(response, where: str) -> None:
    directives = header_fields(response.headers.get("Content-Security-Policy", ""), " ")
    assert "'self'" in directives.get("script-src", ""), where
    assert "unsafe-inline" not in directives.get("script-src", ""), where
    assert directives.get("object-src") == "'none'", where
    assert directives.get("frame-ancestors") == "'none'", where
    assert "Content-Security-Policy-Report-Only" not in response.headers, where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("Referrer-Policy") == "same-origin", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where


def plain_routes(patterns=None, prefix: str = "") -> list[str]:
    """Every route that takes no parameter: the pages a browser can open as they are."""
    routes = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = str(pattern.pattern).lstrip("^").rstrip("$").replace("\\/", "/")
        if any(mark in route for mark in "<(?*+[\\"):
            continue
        if isinstance(pattern, URLResolver):
            routes += plain_routes(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            routes.append("/" + prefix + route)
    return sorted(set(routes) - {"/healthz", "/readyz"})  # probes are for machines, answered before middleware


@pytest.mark.django_db
def test_every_page_carries_the_security_headers(owner):
    owner.is_staff = owner.is_superuser = True
    owner.save()
    signed_in = Client(raise_request_exception=False)
    signed_in.force_login(owner)
    anonymous = Client(raise_request_exception=False)

    routes = plain_routes()
    assert "/admin/login/" in routes

    for path in routes:
        assert_security_headers(signed_in.get(path), f"{path} signed in")
        assert_security_headers(anonymous.get(path), f"{path} anonymous")
    assert_security_headers(anonymous.get("/no-such-page/"), "404 page")


def test_the_outage_page_carries_the_security_headers(database_down):
    client = Client(raise_request_exception=False)
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "s" * 32

    response = client.get("/api/v1/abandoned-checkouts/")

    assert response.status_code == 503
    assert_security_headers(response, "503")


def test_check_deploy_finds_nothing_on_production_settings(tmp_path):
    done = run_python(
        "import sys; from django.core.management import execute_from_command_line\n"
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        production_env(tmp_path),
    )

    assert done.returncode == 0, done.stderr
    assert "System check identified no issues" in done.stdout


def test_production_pages_are_https_only_with_hsts_and_secure_cookies(tmp_path):
    result = production_json(
        """
        import json
        from django.test import Client
        client = Client()
        page = client.get("/admin/login/", secure=True, HTTP_HOST="comeback.example.com")
        plain = client.get("/admin/login/?next=/", HTTP_HOST="comeback.example.com")
        forwarded = client.get("/admin/login/", HTTP_HOST="comeback.example.com", HTTP_X_FORWARDED_PROTO="https")
        probe = client.get("/healthz", HTTP_HOST="10.0.3.7:8000")
        print(json.dumps({
            "status": page.status_code,
            "headers": dict(page.headers),
            "cookies": {name: {"secure": c["secure"], "httponly": c["httponly"]} for name, c in page.cookies.items()},
            "plain": [plain.status_code, plain.headers.get("Location")],
            "forwarded": forwarded.status_code,
            "probe": probe.status_code,
        }))
        """,
        production_env(tmp_path),
    )

    assert result["status"] == 200
    hsts = header_fields(result["headers"]["Strict-Transport-Security"], "=")
    assert int(hsts["max-age"]) >= 31536000
    assert "includeSubDomains" in hsts
    csp = header_fields(result["headers"]["Content-Security-Policy"], " ")
    assert "'self'" in csp["script-src"]
    assert "unsafe-inline" not in csp["script-src"]
    assert result["headers"]["X-Frame-Options"] == "DENY"
    assert result["headers"]["Referrer-Policy"] == "same-origin"
    assert result["headers"]["X-Content-Type-Options"] == "nosniff"
    assert result["cookies"]["csrftoken"]["secure"]
    assert result["plain"] == [301, "https://comeback.example.com/admin/login/?next=/"]
    assert result["forwarded"] == 200  # TLS ended at the proxy, which says so
    assert result["probe"] == 200


@pytest.mark.parametrize(
    ("missing", "words"),
    [
        ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY is not set. Production needs it: a long random value"),
        ("DJANGO_ALLOWED_HOSTS", "DJANGO_ALLOWED_HOSTS is not set. Production needs it: the host names"),
        ("COMEBACK_ENCRYPTION_KEYS", "COMEBACK_ENCRYPTION_KEYS is not set. Production needs it: Fernet keys"),
    ],
)
def test_production_refuses_to_start_without_its_secrets(tmp_path, missing, words):
    done = run_python("import django; django.setup()", production_env(tmp_path, **{missing: None}))

    assert done.returncode != 0
    assert f"ImproperlyConfigured: {words}" in done.stderr


def test_production_refuses_the_public_development_encryption_key(tmp_path):
    from config.settings.base import DEVELOPMENT_ENCRYPTION_KEY

    env = production_env(tmp_path, COMEBACK_ENCRYPTION_KEYS=DEVELOPMENT_ENCRYPTION_KEY)
    done = run_python("import django; django.setup()", env)

    assert done.returncode != 0
    assert "ImproperlyConfigured: COMEBACK_ENCRYPTION_KEYS holds the development key" in done.stderr


def test_production_cancels_slow_statements_after_20_seconds_by_default(tmp_path):
    options = production_json(
        """
        import json
        from django.conf import settings
        print(json.dumps(settings.DATABASES["default"]["OPTIONS"]))
        """,
        production_env(tmp_path, DATABASE_URL="postgres://comeback@db.internal:5432/comeback"),
    )

    # prepare_threshold: the receivers' server-bound inserts are prepared (DATABASE_PREPARED_STATEMENTS).
    assert options == {"connect_timeout": 5, "options": "-c statement_timeout=20s", "prepare_threshold": 5}


@pytest.mark.parametrize(
    ("given", "seconds", "expected"),
    [
        ({}, 120, "-c statement_timeout=120s"),
        ({"options": "-c statement_timeout=20s"}, 120, "-c statement_timeout=120s"),
        ({"options": "-c search_path=shop -c statement_timeout=20s"}, 5, "-c search_path=shop -c statement_timeout=5s"),
        ({"options": "-c statement_timeout=20s"}, 0, None),
    ],
)
def test_the_statement_timeout_can_be_raised_or_removed(given, seconds, expected):
    database = {"ENGINE": "django.db.backends.postgresql", "OPTIONS": dict(given)}

    postgres_statement_timeout(database, seconds)

    assert database["OPTIONS"].get("options") == expected


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_cancels_a_statement_past_the_timeout():
    from django.db import OperationalError, connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    limited = {**connections["default"].settings_dict, "OPTIONS": dict(connections["default"].settings_dict["OPTIONS"])}
    postgres_statement_timeout(limited, 1)
    connection = DatabaseWrapper(limited, alias="limited")
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"), connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 3
    finally:
        connection.close()


def test_production_logs_are_json_by_default(tmp_path):
    done = run_python(
        "import django, logging; django.setup(); logging.getLogger('comeback').warning('hello %s', 'ada@example.com')",
        production_env(tmp_path),
    )

    import json

    (line,) = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert line["message"] == "hello a***@example.com"
    assert line["level"] == "WARNING"
