"""An API key is read once per process for a few seconds; a revocation still takes effect."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from checkouts import keyring
from checkouts.models import ApiKey
from checkouts.services import api_key_create, api_key_revoke
from tests.checkouts.api.conftest import ApiClient

QUERY = "/ecom/v1/abandoned-checkout/query"


@pytest.fixture(autouse=True)
def empty_keyring():
    keyring.api_keys_forget()
    yield
    keyring.api_keys_forget()


def key_queries(client: ApiClient) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.post(QUERY, {"query": {}}).status_code == 200
    return sum('"checkouts_apikey"' in query["sql"] for query in captured.captured_queries)


def test_the_key_is_read_once_then_served_from_the_process(store, settings):
    settings.COMEBACK_API_KEY_CACHE_SECONDS = 60
    _, raw = api_key_create(store=store, name="app", scopes=[ApiKey.Scope.READ])
    client = ApiClient(raw)
    assert key_queries(client) == 2  # read, and last_used_at written
    assert key_queries(client) == 0


def test_a_revoked_key_is_refused_at_once_in_the_process_that_revoked_it(store, settings):
    settings.COMEBACK_API_KEY_CACHE_SECONDS = 60
    key, raw = api_key_create(store=store, name="app", scopes=[ApiKey.Scope.READ])
    client = ApiClient(raw)
    assert client.post(QUERY, {"query": {}}).status_code == 200
    api_key_revoke(api_key=key)
    assert client.post(QUERY, {"query": {}}).status_code == 401


def test_a_key_revoked_elsewhere_is_refused_once_the_cache_time_has_passed(store, settings):
    settings.COMEBACK_API_KEY_CACHE_SECONDS = 0.3
    key, raw = api_key_create(store=store, name="app", scopes=[ApiKey.Scope.READ])
    client = ApiClient(raw)
    assert client.post(QUERY, {"query": {}}).status_code == 200
    # Another process revokes it: nothing tells this one.
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=key.created_at)
    assert client.post(QUERY, {"query": {}}).status_code == 200
    time.sleep(0.4)
    assert client.post(QUERY, {"query": {}}).status_code == 401


def test_a_wrong_secret_is_refused_though_the_prefix_is_cached(store, settings):
    settings.COMEBACK_API_KEY_CACHE_SECONDS = 60
    _, raw = api_key_create(store=store, name="app", scopes=[ApiKey.Scope.READ])
    assert ApiClient(raw).post(QUERY, {"query": {}}).status_code == 200
    assert ApiClient(raw[:-4] + "AAAA").post(QUERY, {"query": {}}).status_code == 401


def test_a_store_saved_in_the_process_is_read_again(store, settings):
    settings.COMEBACK_API_KEY_CACHE_SECONDS = 60
    _, raw = api_key_create(store=store, name="app", scopes=[ApiKey.Scope.READ])
    prefix = ApiKey.split(raw)[0]
    assert keyring.api_key_for_prefix(prefix).store.name == "Acme"
    store.name = "Renamed"
    store.save()
    assert keyring.api_key_for_prefix(prefix).store.name == "Renamed"


def test_each_caller_gets_its_own_copy(store, settings):
    settings.COMEBACK_API_KEY_CACHE_SECONDS = 60
    _, raw = api_key_create(store=store, name="app", scopes=[ApiKey.Scope.READ])
    prefix = ApiKey.split(raw)[0]
    first = keyring.api_key_for_prefix(prefix)
    first.store.name = "changed by one request"
    assert keyring.api_key_for_prefix(prefix).store.name == "Acme"
