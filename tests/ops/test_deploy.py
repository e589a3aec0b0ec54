"""The deployment files agree with the code: they parse, and they hold the promises the guide makes.

Docker cannot run on the development machine, so the compose file is checked as data here.
"""

import configparser
import re

import pytest
import yaml
from django.conf import settings

from .helpers import REPO

DEPLOY = REPO / "deploy"
APP_SERVICES = ("migrate", "web", "worker", "beat")
GUNICORN_TIMEOUT = 30


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def unit_env(parser: configparser.ConfigParser) -> dict[str, str]:
    return dict(line.split("=", 1) for line in parser["Service"].get("Environment", "").split())


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_runs_postgres_redis_web_worker_and_one_beat(compose):
    services = compose["services"]

    assert set(services) == {"postgres", "redis", *APP_SERVICES}
    assert services["beat"]["deploy"]["replicas"] == 1
    for name in APP_SERVICES:
        assert services[name]["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert services[name]["environment"]["DATABASE_URL"].endswith("@postgres:5432/comeback")
        assert services[name]["environment"]["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["environment"]["DATABASE_STATEMENT_TIMEOUT"] == "0"


def test_compose_health_checks_use_the_probes(compose):
    services = compose["services"]

    assert "http://127.0.0.1:8000/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "http://web:8000/readyz" in " ".join(services["beat"]["healthcheck"]["test"])
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]


def test_the_image_serves_with_the_request_timeout():
    dockerfile = (DEPLOY / "Dockerfile").read_text()

    assert '"--timeout", "30"' in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert "USER comeback" in dockerfile


def test_systemd_units_start_web_worker_and_beat_from_one_env_file():
    web, worker, beat = (unit(f"comeback-{name}.service") for name in ("web", "worker", "beat"))

    for parser in (web, worker, beat):
        assert parser["Service"]["EnvironmentFile"] == "/etc/comeback/comeback.env"
        assert parser["Service"]["User"] == "comeback"
    assert "gunicorn config.wsgi" in web["Service"]["ExecStart"]
    assert f"--timeout {GUNICORN_TIMEOUT}" in web["Service"]["ExecStart"]
    assert "celery -A config worker" in worker["Service"]["ExecStart"]
    assert "celery -A config beat" in beat["Service"]["ExecStart"]
    assert "EXACTLY ONE" in (DEPLOY / "systemd" / "comeback-beat.service").read_text()


def test_statement_timeouts_end_queries_before_the_process_limits_do():
    web = int(unit_env(unit("comeback-web.service"))["DATABASE_STATEMENT_TIMEOUT"])
    worker = int(unit_env(unit("comeback-worker.service"))["DATABASE_STATEMENT_TIMEOUT"])

    assert 0 < web < GUNICORN_TIMEOUT
    assert 0 < worker < settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert f"--timeout {GUNICORN_TIMEOUT}" in (REPO / "Procfile").read_text()
    # systemd's EnvironmentFile overrides a unit's Environment=: the shared file must not set it.
    assert not re.search(
        r"^DATABASE_STATEMENT_TIMEOUT=", (DEPLOY / "systemd" / "comeback.env.example").read_text(), re.M
    )


def test_every_environment_variable_is_in_the_readme_configuration_table():
    readme = (REPO / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, re.M))
    read = set()
    for name in ("base", "local", "production"):  # test.py's switches are for the suite, not for installs
        path = REPO / "config" / "settings" / f"{name}.py"
        read |= set(re.findall(r'(?:env(?:\.\w+)?|_required)\(\s*"([A-Z][A-Z0-9_]+)"', path.read_text()))
    example = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (DEPLOY / "systemd" / "comeback.env.example").read_text(), re.M))

    assert read, "no environment variable found: the pattern no longer matches the settings"
    assert read - documented == set()
    assert example - documented == set()
