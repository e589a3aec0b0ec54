"""Rate limits per API key: 429 in Wix's envelope with Retry-After, shared through the cache."""

import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.checkouts.helpers import updated_event

pytestmark = pytest.mark.django_db

QUERY = "/ecom/v1/abandoned-checkout/query"
START = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)


def query(client):
    return client.post(QUERY, {"query": {}})


def test_over_the_limit_is_429_with_retry_after(store, make_api, settings):
    settings.COMEBACK_API_RATE_LIMIT = "3/minute"
    client = make_api(store)
    with time_machine.travel(START, tick=False):
        assert [query(client).status_code for _ in range(3)] == [200, 200, 200]
        refused = query(client)
    assert refused.status_code == 429
    assert refused.json()["details"]["applicationError"]["code"] == "RESOURCE_EXHAUSTED"
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 120  # the rest of this window, then until its weight has shrunk
    assert refused.json()["details"]["applicationError"]["data"] == {"retryAfterSeconds": retry_after}


def test_each_key_has_its_own_budget_and_ingest_its_own(store, make_api, settings):
    settings.COMEBACK_API_RATE_LIMIT = "2/minute"
    settings.COMEBACK_INGEST_RATE_LIMIT = "1/minute"
    first, second = make_api(store), make_api(store)
    with time_machine.travel(START, tick=False):
        assert [query(first).status_code for _ in range(3)] == [200, 200, 429]
        assert query(second).status_code == 200
        events = {"events": [{"eventId": "x"}]}
        assert first.post("/api/v1/checkout-events", events).status_code == 400  # judged, not throttled
        assert first.post("/api/v1/checkout-events", events).status_code == 429


def test_the_window_slides_and_refused_calls_cost_nothing(store, make_api, settings):
    settings.COMEBACK_API_RATE_LIMIT = "4/minute"
    client = make_api(store)
    with time_machine.travel(START, tick=False) as clock:
        assert [query(client).status_code for _ in range(4)] == [200] * 4
        for _ in range(10):
            assert query(client).status_code == 429
        clock.move_to(START + timedelta(seconds=60 + 30))  # half of the full window has slid past
        assert [query(client).status_code for _ in range(3)] == [200, 200, 429]
        clock.move_to(START + timedelta(seconds=180))
        assert query(client).status_code == 200


def test_on_redis_the_window_slides_too(store, make_api, settings, redis_cache):
    """Production counts on Redis, where the count and the previous window come back in one round trip."""
    settings.COMEBACK_API_RATE_LIMIT = "4/minute"
    client = make_api(store)
    with time_machine.travel(START, tick=False) as clock:
        assert [query(client).status_code for _ in range(6)] == [200] * 4 + [429] * 2
        clock.move_to(START + timedelta(seconds=60 + 30))
        assert [query(client).status_code for _ in range(3)] == [200, 200, 429]


def test_retry_after_is_honest(store, make_api, settings):
    settings.COMEBACK_API_RATE_LIMIT = "2/minute"
    client = make_api(store)
    with time_machine.travel(START + timedelta(seconds=20), tick=False) as clock:
        query(client), query(client)
        wait = int(query(client).headers["Retry-After"])
        clock.shift(timedelta(seconds=wait - 1))
        assert query(client).status_code == 429
        clock.shift(timedelta(seconds=1))
        assert query(client).status_code == 200


def test_with_the_cache_down_requests_go_through_and_the_outage_is_logged(store, make_api, settings, caplog):
    """Rate limits fail open: a Redis outage must not become an API outage."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        refused = probe.getsockname()[1]  # nothing listens here once the probe closes
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{refused}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.COMEBACK_INGEST_RATE_LIMIT = "1/minute"
    client = make_api(store)
    started = time.monotonic()
    statuses = [
        client.post("/api/v1/checkout-events", {"events": [updated_event(f"co-{n}")]}).status_code for n in range(3)
    ]
    assert statuses == [200, 200, 200]  # over the limit, yet let through: nothing can count
    assert time.monotonic() - started < 3
    assert caplog.messages.count("Rate-limit cache unavailable; letting COMEBACK_INGEST_RATE_LIMIT through") == 3
