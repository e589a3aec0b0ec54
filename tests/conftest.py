import socket
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from checkouts.services import api_key_create
from config.celery_app import app
from tests.factories import MembershipFactory, StoreFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need real row locks; on SQLite they are skipped, loudly."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate limits (API, password reset) count in the cache, var/cache/ by default, which outlives a run:
    each test starts with none."""
    cache.clear()


@pytest.fixture
def store(db):
    return StoreFactory(name="Acme")


@pytest.fixture
def other_store(db):
    return StoreFactory(name="Globex")


@pytest.fixture
def owner(store):
    return MembershipFactory(store=store, user=UserFactory(username="owner")).user


@pytest.fixture
def api_key(store):
    _, raw = api_key_create(store=store, name="test", scopes=["read", "delete", "ingest"])
    return raw


@pytest.fixture
def redis_cache(settings):
    """The default cache on the machine's Redis (db 9, a key prefix of this test's own), as production
    counts; skipped without Redis on 127.0.0.1:6379."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("needs Redis on 127.0.0.1:6379")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/9",
            "KEY_PREFIX": f"comeback-test-{uuid.uuid4()}",
        }
    }


@pytest.fixture
def broker():
    """The suite's Redis broker (CELERY_BROKER_URL), emptied before and after, publishing for real."""
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs a Redis broker (set CELERY_BROKER_URL=redis://...)")
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.control.purge()
    yield app
    app.control.purge()
    app.conf.task_always_eager = eager
