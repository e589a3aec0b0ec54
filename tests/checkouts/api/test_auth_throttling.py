"""An address that keeps sending bad API keys is throttled (429), whatever key it sends next."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from checkouts.api.auth import BLOCKED_MESSAGE
from checkouts.services import api_key_create

pytestmark = pytest.mark.django_db

QUERY = "/ecom/v1/abandoned-checkout/query"
START = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)


def query(key: str, address: str = "203.0.113.7"):
    return Client().post(
        QUERY, {"query": {}}, content_type="application/json", headers={"Authorization": key}, REMOTE_ADDR=address
    )


def code(response) -> str:
    return response.json()["details"]["applicationError"]["code"]


def test_bad_keys_past_the_limit_get_429_and_then_even_a_good_key_waits(store, api_key, settings):
    settings.COMEBACK_API_KEY_FAILURE_RATE = "5/minute"
    guesses = [f"cbk_{n:012x}_{'x' * 43}" for n in range(6)]
    with time_machine.travel(START, tick=False) as clock:
        assert [query(guess).status_code for guess in guesses[:5]] == [401] * 5
        refused = query(guesses[5])
        assert refused.status_code == 429 and code(refused) == "RESOURCE_EXHAUSTED"
        wait = int(refused["Retry-After"])
        assert 1 <= wait <= 120
        assert query(api_key).status_code == 429  # the right key from the guessing address waits too
        assert query(api_key, address="203.0.113.8").status_code == 200  # other clients do not

        clock.shift(timedelta(seconds=wait))
        assert query(api_key).status_code == 200


def test_good_keys_are_never_counted(store, api_key, settings):
    settings.COMEBACK_API_KEY_FAILURE_RATE = "2/minute"
    with time_machine.travel(START, tick=False):
        assert {query(api_key).status_code for _ in range(5)} == {200}
        assert [query("nonsense").status_code for _ in range(3)] == [401, 401, 429]


# The block on an address is checked by the throttle for a good key, in the round trip of its
# count (config/ratelimit.py); on every cache the outcome is the one authentication gave.


@pytest.fixture(params=["locmem", "redis"])
def rate_cache(request, settings):
    from .test_rate_limit_concurrency import _cache_config

    config = _cache_config(request.param, None)
    # A prefix of this run's own: nothing to clear, nothing shared with a parallel run.
    settings.CACHES = {"default": {**config, "KEY_PREFIX": f"auth-throttling-{uuid.uuid4().hex}"}}
    return request.param


def test_a_blocked_address_is_refused_a_good_key_without_using_its_budget(rate_cache, store, api_key, settings):
    settings.COMEBACK_API_KEY_FAILURE_RATE = "1/minute"
    settings.COMEBACK_API_RATE_LIMIT = "3/minute"
    with time_machine.travel(START, tick=False):
        assert [query(f"cbk_{n:012x}_{'x' * 43}").status_code for n in range(2)] == [401, 429]
        refused = [query(api_key) for _ in range(4)]
        assert {response.status_code for response in refused} == {429}
        assert refused[0].json()["message"].startswith(BLOCKED_MESSAGE)
        assert 1 <= int(refused[0]["Retry-After"]) <= 120
        # The refused requests did not count against the key: its 3 a minute are all there.
        assert [query(api_key, address="203.0.113.8").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_blocked_address_gets_429_even_for_what_its_key_may_not_do(rate_cache, store, settings):
    settings.COMEBACK_API_KEY_FAILURE_RATE = "1/minute"
    _, read_only = api_key_create(store=store, name="read only", scopes=["read"])
    delete = "/ecom/v1/abandoned-checkout/00000000-0000-0000-0000-000000000000"
    with time_machine.travel(START, tick=False):
        assert Client().delete(delete, headers={"Authorization": read_only}).status_code == 403
        assert [query(f"cbk_{n:012x}_{'x' * 43}").status_code for n in range(2)] == [401, 429]
        refused = Client().delete(delete, headers={"Authorization": read_only}, REMOTE_ADDR="203.0.113.7")
        assert refused.status_code == 429 and refused.json()["message"].startswith(BLOCKED_MESSAGE)
