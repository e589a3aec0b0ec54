"""The per-request health check of a persistent PostgreSQL connection (config/postgresql/base.py).

Each request checks its connection before the first query; a quiet idle connection passes
without a round trip, and one the server has ended is replaced, as Django's SELECT 1 would.
"""

import time

import pytest
from django.db import connections

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def persistent():
    """A second connection to the test database, kept between requests, health checks on."""
    settings = {**connections["default"].settings_dict, "CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True}
    connection = connections.create_connection("default").__class__(settings, alias="persistent")
    yield connection
    connection.close()


def next_request(connection) -> None:
    """What Django does between two requests (request_finished / request_started)."""
    connection.close_if_unusable_or_obsolete()


def backend_pid(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_engine_is_the_round_trip_free_one():
    assert connections["default"].__class__.__module__ == "config.postgresql.base"


def test_a_quiet_connection_passes_without_select_1(persistent, monkeypatch):
    pid = backend_pid(persistent)
    checked = []
    monkeypatch.setattr(persistent, "is_usable", lambda: checked.append(1) or True)
    next_request(persistent)

    assert backend_pid(persistent) == pid
    assert checked == []


def test_a_connection_the_server_ended_is_replaced_before_the_query(persistent):
    pid = backend_pid(persistent)
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        # The backend ends when it is next scheduled: wait for it, so it ended between requests.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone() is None:
                break
            time.sleep(0.01)
    next_request(persistent)

    # The request's first query runs on a new connection instead of failing.
    assert backend_pid(persistent) != pid


def test_a_connection_left_in_a_transaction_gets_djangos_check(persistent, monkeypatch):
    backend_pid(persistent)
    persistent.connection.execute("BEGIN")  # behind Django's back: the server sees a transaction
    checked = []
    monkeypatch.setattr(persistent, "is_usable", lambda: checked.append(1) or False)
    next_request(persistent)
    persistent.ensure_connection()
    with persistent.cursor() as cursor:
        cursor.execute("SELECT 1")

    assert checked == [1]
