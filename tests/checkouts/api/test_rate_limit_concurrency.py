"""Rate limits hold under parallel requests: 16 threads, one key, through the whole view stack.

Each cache backend the settings can name counts atomically: the file cache (the embedded
default, shared by gunicorn's processes), Redis (production) and local memory (benchmarks).
"""

import socket
import threading
import uuid
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import caches
from django.db import close_old_connections, connection

from checkouts.models import ApiKey
from tests.checkouts.api.conftest import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)

THREADS, REQUESTS, LIMIT = 16, 1000, 600
START = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
# A database of Redis's own for this test, so it never meets another suite's keys.
REDIS_LOCATION = "redis://127.0.0.1:6379/11"


def _redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


def _cache_config(kind: str, tmp_path) -> dict:
    if kind == "file":
        return {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    if kind == "redis":
        if not _redis_answers():
            pytest.skip("needs Redis on 127.0.0.1:6379")
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_LOCATION,
            # A prefix of this run's own: another suite counting on the same database never meets it.
            "KEY_PREFIX": f"comeback-rate-limit-test-{uuid.uuid4()}",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 5},
        }
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rate-limit-test"}


@pytest.fixture(params=["file", "redis", "locmem"])
def shared_cache(request, settings, tmp_path):
    settings.CACHES = {"default": _cache_config(request.param, tmp_path)}
    # Redis's clear() empties the whole database, another run's counts with it: its prefix is new instead.
    fresh = request.param != "redis"
    if fresh:
        caches["default"].clear()
    yield request.param
    if fresh:
        caches["default"].clear()


def _burst(raw_key: str) -> list[int]:
    """REQUESTS queries from THREADS threads released together; the status of each."""
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def client_thread(count: int) -> None:
        try:
            client = ApiClient(raw_key)
            barrier.wait()
            mine = [client.post("/ecom/v1/abandoned-checkout/query", {"query": {}}).status_code for _ in range(count)]
            statuses.extend(mine)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    shares = [REQUESTS // THREADS + (i < REQUESTS % THREADS) for i in range(THREADS)]
    threads = [threading.Thread(target=client_thread, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    assert not errors, errors
    return statuses


def test_parallel_requests_with_one_key_stay_within_the_limit(shared_cache, store, api_key, settings, caplog):
    settings.COMEBACK_API_RATE_LIMIT = f"{LIMIT}/minute"
    # The key was just used: no request writes last_used_at, so SQLite's shared memory
    # database is only read by the threads.
    ApiKey.objects.update(last_used_at=START)
    # Time stands still, so all requests fall in one window whatever the machine's speed.
    with time_machine.travel(START, tick=False):
        statuses = _burst(api_key)
        after = ApiClient(api_key).post("/ecom/v1/abandoned-checkout/query", {"query": {}})

    assert len(statuses) == REQUESTS
    assert set(statuses) <= {200, 429}
    admitted = statuses.count(200)
    assert LIMIT * 0.95 <= admitted <= LIMIT * 1.05, f"{admitted} admitted on the {shared_cache} cache"
    assert after.status_code == 429
    assert "Rate-limit cache unavailable" not in caplog.text  # counted, not waved through
