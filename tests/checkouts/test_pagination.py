"""One pager for every list: its cursors are bound and signed, and a bad one gets the same answer everywhere."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from automations.models import Notification, SentEmail, Task
from checkouts.models import WebhookEndpoint
from checkouts.pagination import BAD_CURSOR_MESSAGE, BAD_CURSOR_NOTICE, BadCursor, KeysetPager, SortKey
from checkouts.services import api_key_create
from checkouts.webhooks.services import webhook_endpoint_create
from tests.factories import AbandonedCheckoutFactory, StoreFactory

pytestmark = pytest.mark.django_db

KEYS = [SortKey("created_at", True), SortKey("id", True)]
POSITION = [timezone.now(), "00000000-0000-0000-0000-000000000001"]


def test_a_cursor_reads_back_under_the_values_it_was_bound_to():
    pager = KeysetPager(salt="list", store=1, sort="-created")
    cursor = pager.read(pager.issue(POSITION, backward=True, start=50), keys=KEYS)
    assert cursor.position == POSITION and cursor.backward and cursor.extra == {"start": 50}


@pytest.mark.parametrize(
    "reader",
    [
        KeysetPager(salt="list", store=2, sort="-created"),  # another store
        KeysetPager(salt="list", store=1, sort="-total"),  # another order
        KeysetPager(salt="other list", store=1, sort="-created"),  # another list
    ],
)
def test_a_cursor_is_refused_anywhere_else(reader):
    token = KeysetPager(salt="list", store=1, sort="-created").issue(POSITION)
    with pytest.raises(BadCursor):
        reader.read(token, keys=KEYS)


def test_an_altered_or_misshapen_cursor_is_refused():
    pager = KeysetPager(salt="list", store=1)
    token = pager.issue(POSITION)
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "forged", ""):
        with pytest.raises(BadCursor):
            pager.read(bad, keys=KEYS)
    with pytest.raises(BadCursor):
        pager.read(token, keys=KEYS[:1])  # not this sort's number of keys


def test_a_page_link_must_go_the_way_its_cursor_does():
    pager = KeysetPager(salt="list", store=1)
    with pytest.raises(BadCursor):
        pager.read_link({"before": pager.issue(POSITION)}, keys=KEYS)
    assert pager.read_link({}, keys=KEYS) is None


# --- The same policy on every list ----------------------------------------------------------


@pytest.fixture
def rows(store, owner, settings):
    """One row in each list, so the first page shows something."""
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = True
    checkout = AbandonedCheckoutFactory(store=store, first_name="Ada")
    Task.objects.create(
        store=store, abandoned_checkout=checkout, title="Call Ada", due_at=timezone.now() + timedelta(days=1)
    )
    SentEmail.objects.create(
        store=store,
        abandoned_checkout=checkout,
        kind=SentEmail.Kind.AUTOMATION,
        idempotency_key="step-1",
        message_id="<step-1@x>",
        to_email="ada@example.com",
        subject="Ada, hi",
        text_body="Hi",
    )
    Notification.objects.create(store=store, recipient=owner, text="Ada came back")
    endpoint = webhook_endpoint_create(
        store=store, url="http://127.0.0.1:9/hook", event_types=["created"], format=WebhookEndpoint.Format.STANDARD
    )
    return {"checkout": checkout, "endpoint": endpoint}


# A cursor signed for a list that is none of these: each list must refuse it like a forged one.
FOREIGN = KeysetPager(salt="somewhere else").issue(POSITION)

HTML_LISTS = {
    "checkouts": ("/checkouts/", "Ada"),
    "webhook log": ("/settings/webhooks/{endpoint}/", "No deliveries"),
    "tasks": ("/tasks/", "Call Ada"),
    "sent emails": ("/emails/", "Ada, hi"),
    "notifications": ("/notifications/", "Ada came back"),
}


@pytest.mark.parametrize("token", ["forged", FOREIGN], ids=["forged", "foreign"])
@pytest.mark.parametrize("name", list(HTML_LISTS))
def test_an_html_list_answers_a_bad_page_link_with_its_first_page_and_a_notice(client, owner, rows, name, token):
    path, first_page_shows = HTML_LISTS[name]
    client.force_login(owner)
    url = path.format(endpoint=rows["endpoint"].pk)
    for direction in ("after", "before"):
        response = client.get(url, {direction: token})
        html = response.content.decode()
        assert response.status_code == 400, html
        assert html.count(BAD_CURSOR_NOTICE) == 1 and first_page_shows in html


JSON_LISTS = {
    "REST": ("get", "/api/v1/abandoned-checkouts/", lambda token: {"cursor": token}, "cursor"),
    "Query": (
        "post",
        "/ecom/v1/abandoned-checkout/query",
        lambda token: {"query": {"cursorPaging": {"cursor": token}}},
        "query.cursorPaging.cursor",
    ),
    "Search": (
        "post",
        "/ecom/v1/abandoned-checkout/search",
        lambda token: {"search": {"cursorPaging": {"cursor": token}}},
        "search.cursorPaging.cursor",
    ),
}


@pytest.mark.parametrize("token", ["forged", FOREIGN], ids=["forged", "foreign"])
@pytest.mark.parametrize("name", list(JSON_LISTS))
def test_a_json_list_answers_a_bad_cursor_with_a_400_naming_the_cursor_field(store, name, token):
    method, path, body, field = JSON_LISTS[name]
    _, key = api_key_create(store=store, name="test", scopes=["read"])
    client = Client(headers={"Authorization": key})
    if method == "get":
        response = client.get(path, body(token))
    else:
        response = client.post(path, body(token), content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["details"]["validationError"]["fieldViolations"] == [
        {"field": field, "description": BAD_CURSOR_MESSAGE, "violatedRule": "FORMAT", "ruleName": "INVALID_CURSOR"}
    ]


@pytest.mark.parametrize("name", list(JSON_LISTS))
def test_another_stores_cursor_is_a_bad_cursor(store, name):
    method, path, body, field = JSON_LISTS[name]
    AbandonedCheckoutFactory.create_batch(3, store=store)
    other = StoreFactory()
    AbandonedCheckoutFactory.create_batch(3, store=other)
    clients = {}
    for each in (store, other):
        _, key = api_key_create(store=each, name="test", scopes=["read"])
        clients[each] = Client(headers={"Authorization": key})

    def call(client, payload):
        if method == "get":
            return client.get(path, payload)
        return client.post(path, payload, content_type="application/json")

    if method == "get":
        token = parse_qs(urlsplit(call(clients[other], {"page_size": 1}).json()["next"]).query)["cursor"][0]
    else:
        kind = path.rsplit("/", 1)[1]
        first = call(clients[other], {kind: {"cursorPaging": {"limit": 1}}}).json()
        token = (first.get("metadata") or first.get("pagingMetadata"))["cursors"]["next"]
    response = call(clients[store], body(token))
    assert response.status_code == 400
    assert [v["field"] for v in response.json()["details"]["validationError"]["fieldViolations"]] == [field]
