"""The timeline names things: each counted click, who anonymised, who sent by hand, who bulk-deleted."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from checkouts.models import BulkJob, Membership, TimelineEvent
from checkouts.services import bulk_job_create, bulk_job_run
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def timeline(client, ac) -> str:
    html = client.get(f"/checkouts/{ac.pk}/").content.decode()
    return html[html.index('class="timeline"') :]


def open_link(ac, address: str = "203.0.113.7") -> int:
    buyer = Client(headers={"user-agent": FIREFOX}, REMOTE_ADDR=address)
    return buyer.get(f"/ecom/v1/abandoned-checkout/{ac.pk}/redirect-to-checkout?metasiteId={ac.store_id}").status_code


def test_each_counted_click_is_an_entry_and_a_repeat_within_the_window_is_not(viewer_client, make_checkout):
    ac = make_checkout(storefront_checkout_url="https://shop.example.com/checkout/1")
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        assert open_link(ac) == open_link(ac) == 302  # the same buyer twice: one click
        open_link(ac, address="198.51.100.4")  # someone else: a second
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        open_link(ac)  # the first buyer again, after the window: a third

    entries = timeline(viewer_client, ac)
    assert entries.count("Opened the recovery link") == 3
    assert "Recovery link opened" not in entries  # the old summary line gives way to the real ones


def test_anonymise_names_the_member_who_did_it(store, member, make_checkout):
    client = member(Membership.Role.MANAGER)
    ac = make_checkout(buyer_email="ada@example.com")
    client.post(f"/checkouts/{ac.pk}/anonymise/")
    username = f"manager-{store.pk.hex[:6]}"
    assert f"Anonymised by {username}" in timeline(client, ac)
    event = TimelineEvent.objects.get(abandoned_checkout=ac)
    assert (event.kind, event.actor.get_username(), event.actor_label) == ("ANONYMISED", username, username)


def test_a_bulk_anonymise_names_who_started_it_and_a_bulk_delete_shows_it_on_the_job(
    store, manager_client, make_checkout
):
    alice = UserFactory(username="alice")
    kept, gone = make_checkout(), make_checkout()
    bulk_job_run(
        job_id=bulk_job_create(store=store, action=BulkJob.Action.ANONYMISE, ids=[kept.pk], created_by=alice).pk
    )
    job = bulk_job_create(store=store, action=BulkJob.Action.DELETE, ids=[gone.pk], created_by=alice)
    bulk_job_run(job_id=job.pk)

    assert "Anonymised by alice" in timeline(manager_client, kept)
    assert "Started by alice" in manager_client.get(f"/checkouts/bulk/{job.pk}/").content.decode()


def test_a_manual_send_names_the_member_who_sent_it(store, owner_client, make_checkout):
    ac = make_checkout(buyer_email="ada@example.com")
    assert owner_client.post(f"/checkouts/{ac.pk}/recovery-email/").status_code == 302
    # One line for the email (the activity and the sent message merge), naming who sent it.
    html = timeline(owner_client, ac)
    assert f"By owner-{store.pk.hex[:6]}" in html and "Sent by hand" in html


def test_the_page_stays_a_constant_number_of_queries_with_events(viewer_client, make_checkout):
    quiet, busy = make_checkout(), make_checkout(storefront_checkout_url="https://shop.example.com/c/2")
    for number in range(20):
        assert open_link(busy, address=f"198.51.100.{number}") == 302
    TimelineEvent.objects.create(store_id=busy.store_id, abandoned_checkout=busy, kind="ANONYMISED", actor_label="bo")
    viewer_client.get("/")

    def queries_for(ac) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get(f"/checkouts/{ac.pk}/").status_code == 200
        return len(captured)

    assert queries_for(quiet) == queries_for(busy) <= 12
