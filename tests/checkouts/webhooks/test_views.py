"""The webhook settings pages: who may use them, the forms, secrets, test events, the log, redelivery."""

import re

import pytest
from django.urls import reverse

from checkouts.extensions import nav_items, timeline_sources
from checkouts.models import Membership, WebhookDelivery, WebhookEndpoint
from checkouts.webhooks.services import webhook_endpoint_create
from tests.factories import MembershipFactory, UserFactory

from .conftest import ALL_EVENTS
from .helpers import abandoned, delivery_for, record, sweep, verified
from .receiver import Reply

pytestmark = pytest.mark.django_db
State = WebhookDelivery.State


def _client_with_role(client, store, role):
    user = MembershipFactory(store=store, user=UserFactory(username=f"u-{role}"), role=role).user
    client.force_login(user)
    return client


@pytest.mark.parametrize(("role", "status"), [("VIEWER", 403), ("MANAGER", 200), ("OWNER", 200)])
def test_managers_and_owners_only(client, store, endpoint, role, status):
    client = _client_with_role(client, store, role)
    assert client.get(reverse("webhooks:list")).status_code == status
    assert client.get(reverse("webhooks:detail", args=[endpoint.pk])).status_code == status


def test_another_stores_endpoint_is_a_404_everywhere(manager_client, other_store):
    theirs = webhook_endpoint_create(
        store=other_store, url="https://example.com/h", event_types=ALL_EVENTS, format="standard"
    )
    delivery_id = 1
    for name, method in [
        ("webhooks:detail", "get"),
        ("webhooks:update", "get"),
        ("webhooks:update", "post"),
        ("webhooks:delete", "get"),
        ("webhooks:delete", "post"),
        ("webhooks:rotate-secret", "post"),
        ("webhooks:test", "post"),
        ("webhooks:redeliver-failed", "post"),
    ]:
        assert getattr(manager_client, method)(reverse(name, args=[theirs.pk])).status_code == 404, name
    url = reverse("webhooks:redeliver", args=[theirs.pk, delivery_id])
    assert manager_client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.active and WebhookEndpoint.objects.filter(pk=theirs.pk).exists()


def test_adding_an_endpoint_shows_its_secret(manager_client, store, settings, monkeypatch):
    from checkouts.webhooks import ssrf

    monkeypatch.setattr(ssrf, "resolve", lambda host, port: ["93.184.216.34"])
    response = manager_client.post(
        reverse("webhooks:create"),
        {
            "url": "https://hooks.example.com/in",
            "event_types": ["created", "recovered"],
            "format": "standard",
            "active": "on",
        },
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get(store=store)
    assert endpoint.event_types == ["created", "recovered"] and endpoint.active
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()


def test_an_internal_url_is_a_form_error_naming_the_reason(manager_client, store):
    response = manager_client.post(
        reverse("webhooks:create"),
        {"url": "https://169.254.169.254/latest", "event_types": ["created"], "format": "standard", "active": "on"},
    )
    assert response.status_code == 200
    assert "cloud metadata service" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_public_key_is_shown_as_pem(manager_client, store):
    html = manager_client.get(reverse("webhooks:list")).content.decode()
    assert "-----BEGIN PUBLIC KEY-----" in html and str(store.pk) in html


def test_rotating_the_secret_keeps_the_old_one_signing(manager_client, endpoint):
    old = endpoint.secret
    response = manager_client.post(reverse("webhooks:rotate-secret", args=[endpoint.pk]), follow=True)
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert "24 hours" in response.content.decode()


def test_send_test_event_delivers_a_signed_sample_and_logs_it(
    manager_client, endpoint, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("webhooks:test", args=[endpoint.pk]), follow=True)
    (request,) = receiver.received
    payload = verified(endpoint.secret, request)
    assert payload["slug"] == "created"
    assert payload["createdEvent"]["entity"]["buyerInfo"]["email"] == "test.buyer@example.com"
    assert delivery_for_id(payload["id"]).state == State.SUCCEEDED
    assert "Succeeded" in response.content.decode()


def delivery_for_id(event_id):
    return WebhookDelivery.objects.get(event_id=event_id)


def test_editing_switches_an_endpoint_off_and_cancels_what_is_pending(manager_client, endpoint, store):
    event = record(abandoned(store))
    response = manager_client.post(
        reverse("webhooks:update", args=[endpoint.pk]),
        {"url": endpoint.url, "event_types": ["created"], "format": "wix-jwt"},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.active and endpoint.format == "wix-jwt" and endpoint.event_types == ["created"]
    assert delivery_for(event).state == State.CANCELLED


def test_deleting_an_endpoint(manager_client, endpoint):
    assert manager_client.post(reverse("webhooks:delete", args=[endpoint.pk])).status_code == 302
    assert not WebhookEndpoint.objects.exists()


def test_the_log_filters_pages_and_runs_constant_queries(
    manager_client, endpoint, store, receiver, django_assert_max_num_queries
):
    receiver.default = Reply(500, body=b"receiver says no")
    for index in range(60):
        event = record(abandoned(store), "created" if index % 2 else "updated", 1)
        if index < 10:
            from checkouts.webhooks.attempts import webhook_delivery_attempt

            webhook_delivery_attempt(delivery_id=delivery_for(event).pk)
    url = reverse("webhooks:detail", args=[endpoint.pk])

    manager_client.get(reverse("webhooks:list"))  # the first request stores the chosen store in the session
    # session, user, membership, the layout's store switcher, notification bell and open-task
    # badge, endpoint, one page of deliveries and one of their attempt histories: whatever the page size.
    with django_assert_max_num_queries(9):
        first = manager_client.get(url)
    html = first.content.decode()
    assert html.count('action="/settings/webhooks/') >= 50
    older = re.search(r'href="(\?after=[^"]+)"', html).group(1).replace("&amp;", "&")
    with django_assert_max_num_queries(9):
        second = manager_client.get(url + older).content.decode()
    assert second.count("#1") == 10  # the 10 oldest deliveries

    failing = manager_client.get(url, {"state": "pending", "event_type": "updated"}).content.decode()
    assert "receiver says no" in failing and "HTTP 500" in failing
    forged = manager_client.get(url, {"after": "forged"})
    assert forged.status_code == 400 and "no longer valid" in forged.content.decode()


def test_redeliver_one_and_all_failed(manager_client, endpoint, store, receiver, django_capture_on_commit_callbacks):
    events = [record(abandoned(store)) for _ in range(3)]
    WebhookDelivery.objects.update(state=State.FAILED, attempts=8, next_attempt_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(reverse("webhooks:redeliver", args=[endpoint.pk, delivery_for(events[0]).pk]))
    assert len(receiver.received) == 1 and delivery_for(events[0]).state == State.SUCCEEDED

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("webhooks:redeliver-failed", args=[endpoint.pk]), follow=True)
    assert "2 failed deliveries queued again." in response.content.decode()
    assert len(receiver.received) == 3
    assert {d.state for d in WebhookDelivery.objects.all()} == {State.SUCCEEDED}
    assert sweep() == 0


def test_a_disabled_endpoint_shows_a_notice(manager_client, endpoint, store, receiver):
    receiver.reply(Reply(410))
    from checkouts.webhooks.attempts import webhook_delivery_attempt

    webhook_delivery_attempt(delivery_id=delivery_for(record(abandoned(store))).pk)
    html = manager_client.get(reverse("webhooks:list")).content.decode()
    assert "Disabled" in html and "410 Gone" in html


def test_the_settings_tab_and_the_checkout_timeline(store, endpoint, receiver, django_assert_num_queries):
    (tab,) = [item for item in nav_items("settings") if item.url_name == "webhooks:list"]
    assert tab.min_role == Membership.Role.MANAGER

    ac = abandoned(store)
    record(ac, "created", 1)
    record(ac, "updated", 2)
    receiver.reply(Reply(500))
    sweep()
    sweep()
    source = next(s for s in timeline_sources() if s.__name__ == "delivery_timeline")
    ac = type(ac).objects.get(pk=ac.pk)  # as the detail page has it, without its store loaded
    with django_assert_num_queries(1):
        entries = source(ac)
    assert [(e.kind, e.status) for e in entries] == [("delivery", "ok"), ("delivery", "warning")]
    assert "HTTP 500" in entries[1].detail and entries[0].url == reverse("webhooks:detail", args=[endpoint.pk])


def test_redelivering_keeps_the_earlier_attempts_in_the_history(
    manager_client, endpoint, store, receiver, django_capture_on_commit_callbacks
):
    from checkouts.webhooks.attempts import webhook_delivery_attempt

    receiver.reply(Reply(500))
    delivery = delivery_for(record(abandoned(store)))
    webhook_delivery_attempt(delivery_id=delivery.pk)
    receiver.reply(Reply(200))
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(reverse("webhooks:redeliver", args=[endpoint.pk, delivery.pk]))

    assert [(a.status_code, a.state) for a in delivery.attempt_log.all()] == [
        (500, State.PENDING),
        (200, State.SUCCEEDED),
    ]
    html = manager_client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert "History (2)" in html and "HTTP 500" in html and "HTTP 200" in html


def test_the_secret_is_masked_with_reveal_and_copy(manager_client, endpoint):
    html = manager_client.get(reverse("webhooks:detail", args=[endpoint.pk])).content.decode()
    assert f'<input id="secret" type="password" readonly value="{endpoint.secret}"' in html
    assert 'data-reveal="secret"' in html and f'data-copy="{endpoint.secret}"' in html
