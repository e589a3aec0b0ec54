"""An address that keeps sending bad API keys is throttled (429), whatever key it sends next."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

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
