"""Fixtures that make a dependency fail for real: a closed port, a server that never answers."""

import socket
import threading
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connections


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def silent_port():
    """A local port that accepts connections and never says a word (a hung server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@contextmanager
def _database_at(port: int):
    """Point the default connection at a PostgreSQL server on `port`, whatever the suite runs on."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    outage = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "comeback",
        "USER": "comeback",
        "PASSWORD": "",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "OPTIONS": {"connect_timeout": settings.DATABASE_CONNECT_TIMEOUT},
        "ATOMIC_REQUESTS": False,
        "AUTOCOMMIT": True,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "TIME_ZONE": None,
        "TEST": {},
    }
    original = connections["default"]
    connections["default"] = DatabaseWrapper(outage, alias="default")
    try:
        yield
    finally:
        connections["default"].close()
        connections["default"] = original


@pytest.fixture
def database_down(closed_port, django_db_blocker):
    """The database server is down: connections are refused."""
    with django_db_blocker.unblock(), _database_at(closed_port):
        yield


@pytest.fixture
def database_hung(silent_port, django_db_blocker):
    """The database host accepts TCP connections and never answers (a hung server or a black hole)."""
    with django_db_blocker.unblock(), _database_at(silent_port):
        yield
