"""The generic bulk flow: every registered action with a confirmation is confirmed with a count and
a preview, then returns to the filtered list; "all matching" takes the whole filter."""

import re
from decimal import Decimal

import pytest
from django.core import mail

from checkouts.models import AbandonedCheckout, BulkJob
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db

FILTERED = "/checkouts/?total_min=100&per_page=25"


def hidden(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="hidden" name="{name}" value="([^"]*)">', html)


def test_bulk_send_asks_first_with_a_preview_then_returns_to_the_filtered_list(store, manager_client, make_checkout):
    rows = [make_checkout(first_name=f"Buyer{i}", total=Decimal("150")) for i in range(2)]
    listing = manager_client.get(FILTERED).content.decode()
    button = re.search(r"<button[^>]*>Send recovery email</button>", listing).group(0)
    assert 'name="action" value="automations:recovery_email_bulk"' in button
    assert 'formaction="/checkouts/bulk/confirm/"' in button
    back = hidden(listing, "back")[0].replace("&amp;", "&")

    confirm = manager_client.post(
        "/checkouts/bulk/confirm/",
        {"action": "automations:recovery_email_bulk", "ids": [ac.pk for ac in rows], "back": back},
    )

    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert "Send the recovery email to 2 buyers?" in html and "Buyer0" in html and "Buyer1" in html
    frame = re.search(r'<iframe[^>]*src="/checkouts/([0-9a-f-]{36})/recovery-email/html/"', html)
    assert frame.group(1) in {str(ac.pk) for ac in rows}  # the email, as it will go out
    assert 'action="/checkouts/bulk/recovery-email/"' in html
    assert mail.outbox == []  # nothing is sent before the merchant confirms

    response = manager_client.post(
        "/checkouts/bulk/recovery-email/",
        {"ids": hidden(html, "ids"), "next": hidden(html, "next")[0].replace("&amp;", "&"), "confirm": "yes"},
    )

    assert len(mail.outbox) == 2
    assert response["Location"] == FILTERED


def test_the_confirmation_never_shows_another_stores_checkouts(store, other_store, manager_client, make_checkout):
    mine = make_checkout()
    theirs = AbandonedCheckoutFactory(store=other_store)
    response = manager_client.post(
        "/checkouts/bulk/confirm/", {"action": "automations:recovery_email_bulk", "ids": [mine.pk, theirs.pk]}
    )
    assert response.status_code == 404


def test_a_viewer_cannot_reach_a_managers_bulk_action(store, viewer_client, make_checkout):
    ac = make_checkout()
    response = viewer_client.post(
        "/checkouts/bulk/confirm/", {"action": "automations:recovery_email_bulk", "ids": [ac.pk]}
    )
    assert response.status_code == 403


def test_select_all_matching_deletes_the_whole_filter_after_showing_its_count(
    store, other_store, manager_client, make_checkout, django_capture_on_commit_callbacks
):
    wanted = [make_checkout(total=Decimal("150"), hours_ago=i + 1) for i in range(30)]
    kept = make_checkout(total=Decimal("5"))
    theirs = AbandonedCheckoutFactory(store=other_store, total=Decimal("500"))
    listing = manager_client.get(FILTERED).content.decode()
    assert "Select all 30 matching" in listing
    assert hidden(listing, "filter") == ["total_min=100&amp;per_page=25"]

    confirm = manager_client.post(
        "/checkouts/bulk/delete/", {"scope": "all", "filter": "total_min=100&per_page=25", "back": FILTERED}
    )

    html = confirm.content.decode()
    assert "Delete 30 abandoned checkouts?" in html
    assert hidden(html, "scope") == ["all"] and hidden(html, "ids") == []
    assert AbandonedCheckout.objects.count() == 32
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            "/checkouts/bulk/delete/",
            {"scope": "all", "filter": hidden(html, "filter")[0].replace("&amp;", "&"), "confirm": "yes"},
        )
    job = BulkJob.objects.get()
    assert response["Location"] == f"/checkouts/bulk/{job.pk}/"
    assert job.total == 30
    assert set(AbandonedCheckout.objects.values_list("pk", flat=True)) == {kept.pk, theirs.pk}
    assert not AbandonedCheckout.objects.filter(pk__in=[ac.pk for ac in wanted]).exists()


def test_select_all_matching_sends_to_the_whole_filter(store, manager_client, make_checkout):
    wanted = [make_checkout(total=Decimal("150"), hours_ago=i + 1) for i in range(3)]
    make_checkout(total=Decimal("5"))

    confirm = manager_client.post(
        "/checkouts/bulk/confirm/",
        {"action": "automations:recovery_email_bulk", "scope": "all", "filter": "total_min=100", "back": FILTERED},
    )

    html = confirm.content.decode()
    assert "Send the recovery email to 3 buyers?" in html
    assert sorted(hidden(html, "ids")) == sorted(str(ac.pk) for ac in wanted)


def test_a_filter_beyond_an_actions_reach_says_it_acts_on_the_first_rows(
    store, manager_client, make_checkout, monkeypatch
):
    from checkouts.views import bulk

    monkeypatch.setattr(bulk, "FORM_MAX_IDS", 2)
    rows = [make_checkout(hours_ago=i + 1) for i in range(3)]

    html = manager_client.post(
        "/checkouts/bulk/confirm/", {"action": "automations:recovery_email_bulk", "scope": "all", "filter": ""}
    ).content.decode()

    assert "More than 2 checkouts match: this acts on the first 2" in html
    assert hidden(html, "ids") == [str(rows[0].pk), str(rows[1].pk)]  # newest first, as the list shows them


def test_export_selected_with_all_matching_exports_the_filter(manager_client, make_checkout):
    make_checkout()
    response = manager_client.post("/checkouts/export.csv", {"scope": "all", "filter": "total_min=100&sort=-total"})
    assert response["Location"] == "/checkouts/export.csv?total_min=100&sort=-total"
