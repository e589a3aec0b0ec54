"""/healthz says the process is up; /readyz names each dependency and fails with 503 when one is down."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from checkouts.services import scheduler_heartbeat_record
from config.probes import SCHEDULER_MAX_SILENCE

CHECKS = ["database", "migrations", "broker", "scheduler"]


def test_healthz_answers_without_the_database(client):
    # No django_db mark: any query would raise, so a 200 proves the database is not touched.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_probes_skip_the_host_check_and_the_https_redirect(client, settings):
    """A load balancer calls over plain HTTP with the instance's address as Host."""
    settings.ALLOWED_HOSTS = ["comeback.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz", HTTP_HOST="10.0.3.7:8000").status_code == 200
    # Everything else is still refused or redirected.
    assert client.get("/admin/login/", HTTP_HOST="10.0.3.7:8000").status_code == 400
    assert client.get("/admin/login/", HTTP_HOST="comeback.example.com").status_code == 301


@pytest.mark.django_db
def test_readyz_is_200_when_every_dependency_answers(client):
    scheduler_heartbeat_record()

    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert list(body["checks"]) == CHECKS
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["migrations"]["detail"] == "all applied"


@pytest.mark.django_db
def test_readyz_fails_without_any_scheduler_heartbeat(client):
    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["scheduler"]["ok"] is False
    assert checks["scheduler"]["detail"].startswith("no heartbeat yet: is `celery beat` running")


@pytest.mark.django_db
def test_readyz_fails_when_the_last_heartbeat_is_older_than_three_minutes(client):
    scheduler_heartbeat_record(at=timezone.now() - SCHEDULER_MAX_SILENCE - timedelta(minutes=1))

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["scheduler"]["ok"] is False
    assert body["checks"]["scheduler"]["detail"].startswith("last heartbeat 4\xa0minutes ago")
    assert all(body["checks"][name]["ok"] for name in ("database", "migrations", "broker"))


@pytest.mark.django_db
def test_readyz_fails_while_a_migration_is_not_applied(client):
    scheduler_heartbeat_record()
    MigrationRecorder(connection).record_unapplied("checkouts", "0002_scheduler_heartbeat")

    response = client.get("/readyz")

    assert response.status_code == 503
    migrations = response.json()["checks"]["migrations"]
    assert migrations["ok"] is False
    assert "checkouts.0002_scheduler_heartbeat" in migrations["detail"]
    assert "manage.py migrate" in migrations["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("broker", ["closed", "silent"])
def test_readyz_fails_fast_when_the_broker_is_down_or_hung(client, settings, request, broker):
    port = request.getfixturevalue(f"{broker}_port")
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    scheduler_heartbeat_record()

    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["ok"] is False
    assert checks["broker"]["detail"].startswith("OperationalError")
    assert checks["database"]["ok"] and checks["scheduler"]["ok"]
    assert elapsed < 2.5


def test_readyz_reports_a_database_outage_by_name_and_fast(client, database_down):
    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is False
    assert checks["database"]["detail"].startswith("OperationalError")
    assert (
        checks["migrations"]
        == checks["scheduler"]
        == {
            "ok": False,
            "detail": "not checked: the database is unreachable",
            "duration_ms": 0.0,
        }
    )
    assert elapsed < 2.5
