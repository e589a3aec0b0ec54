"""The load scenario still fits the app: its routes resolve and every request it builds is accepted.

The load test itself is manual (`make load`); this runs in the suite when the `load` extra
(locust) is installed, so a renamed route or a changed payload breaks CI, not the next run.
"""

import importlib.util
import json
import os
import uuid
from pathlib import Path

import pytest
from django.urls import resolve

from tests.factories import AbandonedCheckoutFactory

if importlib.util.find_spec("locust") is None:
    pytest.skip("locust is not installed (pip install -e '.[load]')", allow_module_level=True)

# locust monkey-patches the standard library with gevent on import, which must happen before
# anything else loads ssl: too late inside pytest, and the scenario's code does not need it.
os.environ.setdefault("LOCUST_SKIP_MONKEY_PATCH", "1")
_spec = importlib.util.spec_from_file_location("load_locustfile", Path(__file__).with_name("locustfile.py"))
scenario = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scenario)

pytestmark = pytest.mark.django_db

URL_NAMES = {
    "ingest": "api-checkout-events",
    "login": "login",
    "overview": "overview",
    "list": "list",
    "detail": "detail",
    "export": "export",
    "wix query": "wix-query",
    "wix search": "wix-search",
    "wix get": "wix-abandoned-checkout",
    "rest list": "api-abandoned-checkouts",
}


def test_every_route_of_the_scenario_resolves_to_its_view():
    assert set(scenario.ROUTES) == set(URL_NAMES)
    for name, path in scenario.ROUTES.items():
        assert resolve(path.format(id=uuid.uuid4())).url_name == URL_NAMES[name], name


def test_the_storefronts_events_are_all_applied(client, api_key):
    stream, headers = scenario.CheckoutStream(), {"Authorization": api_key}
    for _ in range(10):
        batch = {"events": [stream.event() for _ in range(scenario.INGEST_BATCH)]}
        body = json.dumps(batch)
        response = client.post(scenario.ROUTES["ingest"], body, content_type="application/json", headers=headers)
        assert response.status_code == 200, response.content
        assert response.json()["bulkActionMetadata"]["totalFailures"] == 0


def test_the_apps_queries_and_filters_are_accepted(client, store, api_key):
    AbandonedCheckoutFactory.create_batch(3, store=store)
    headers = {"Authorization": api_key}
    for query in scenario.WIX_QUERIES:
        body = json.dumps({"query": {**query, "cursorPaging": {"limit": 2}}})
        response = client.post(scenario.ROUTES["wix query"], body, content_type="application/json", headers=headers)
        assert response.status_code == 200, (query, response.content)
    for params in scenario.REST_FILTERS:
        response = client.get(scenario.ROUTES["rest list"], params, headers=headers)
        assert response.status_code == 200, (params, response.content)


def test_the_merchants_filters_are_accepted(client, owner, store):
    AbandonedCheckoutFactory.create_batch(3, store=store)
    client.force_login(owner)
    for params in scenario.LIST_FILTERS:
        response = client.get(scenario.ROUTES["list"], params)
        assert response.status_code == 200 and not response.context["form"].errors, params
