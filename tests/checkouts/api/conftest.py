"""Clients that call the API the way apps do: JSON bodies, the key in Authorization."""

import json

import pytest
from django.core.cache import cache
from django.test import Client

from checkouts.services import api_key_create


class ApiClient:
    """A Django test client that sends JSON and an API key (raw, as Wix clients send it)."""

    def __init__(self, key: str | None, **headers):
        self.client = Client()
        self.headers = {"Authorization": key, **headers} if key else dict(headers)

    def get(self, path, params=None, **headers):
        return self.client.get(path, params or {}, headers={**self.headers, **headers})

    def post(self, path, body=None, **headers):
        data = body if isinstance(body, (bytes, str)) else json.dumps(body if body is not None else {})
        return self.client.post(path, data, content_type="application/json", headers={**self.headers, **headers})

    def delete(self, path, **headers):
        return self.client.delete(path, headers={**self.headers, **headers})


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit windows live in the shared cache; each test starts with none."""
    cache.clear()


@pytest.fixture
def api(api_key):
    """The `store` fixture's key with every scope."""
    return ApiClient(api_key)


@pytest.fixture
def make_api():
    def make(store, scopes=("read", "delete", "ingest"), **headers):
        _, raw = api_key_create(store=store, name="test", scopes=scopes)
        return ApiClient(raw, **headers)

    return make
