"""Hostile form input on the dashboard: the documented bulk maximum, `next` addresses, store names in headers."""

import pytest
from django.core import mail

from automations.models import Automation
from checkouts.models import AbandonedCheckout
from checkouts.views.bulk import FORM_MAX_IDS
from tests.automations.helpers import abandon, after, dispatch_at, email_step, only_automation
from tests.checkouts.views.test_settings import STORE_FORM
from tests.factories import AbandonedCheckoutFactory

pytestmark = pytest.mark.django_db


def test_a_bulk_form_with_the_documented_1000_ids_reaches_the_confirmation(store, manager_client):
    """Django's DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) used to refuse it with a bare 400."""
    rows = AbandonedCheckout.objects.bulk_create(AbandonedCheckoutFactory.build_batch(FORM_MAX_IDS, store=store))

    response = manager_client.post(
        "/checkouts/bulk/delete/", {"ids": [str(ac.pk) for ac in rows], "back": "/checkouts/"}
    )

    assert response.status_code == 200
    assert "Delete 1,000 abandoned checkouts?" in response.content.decode()


def test_a_bulk_form_with_1001_ids_gets_a_clear_message(store, manager_client):
    ids = [str(ac.pk) for ac in AbandonedCheckoutFactory.build_batch(FORM_MAX_IDS + 1, store=store)]

    response = manager_client.post("/checkouts/bulk/delete/", {"ids": ids, "back": "/checkouts/"}, follow=True)

    assert response.redirect_chain[-1][0] == "/checkouts/"
    assert "Select at most 1,000 checkouts at a time." in response.content.decode()


@pytest.mark.parametrize(
    "target", ["javascript:alert(1)", "https://evil.example/", "//evil.example/", "/\\evil.example"]
)
def test_an_outside_next_is_ignored_not_followed(store, manager_client, target):
    automation = only_automation(store, name="Win back")

    response = manager_client.post(f"/automations/{automation.pk}/active/", {"active": "0", "next": target})

    assert response.status_code == 302 and response["Location"] == f"/automations/{automation.pk}/"
    assert not Automation.objects.get(pk=automation.pk).active


def test_a_next_inside_the_dashboard_is_followed(store, manager_client):
    automation = only_automation(store, name="Win back")
    response = manager_client.post(f"/automations/{automation.pk}/active/", {"active": "0", "next": "/automations/"})
    assert response["Location"] == "/automations/"


@pytest.mark.parametrize(
    "name", ["Acme\r\nBcc: everyone@example.com", "Acme\nOutdoors", "Acme\x00Outdoors", "Acme\u2028Outdoors"]
)
def test_a_store_name_with_a_line_break_is_refused_at_the_form(store, manager_client, name):
    response = manager_client.post("/settings/", {**STORE_FORM, "name": name})

    assert response.status_code == 400
    assert "without line breaks or control characters" in response.content.decode()
    store.refresh_from_db()
    assert store.name == "Acme"


def test_a_store_name_saved_with_a_line_break_still_makes_safe_email_headers(store):
    """A name from before the form refused them (or the admin) must not break or inject a header."""
    store.name = "Acme\r\nBcc: everyone@example.com"
    store.save(update_fields=["name"])
    email_step(only_automation(store, name="Win back"), delay_value=1, delay_unit="HOURS")
    abandon(store)

    report = dispatch_at(after(hours=1))

    assert report.outcomes == {"EMAIL_SENT": 1}
    (message,) = mail.outbox
    sent = message.message()
    assert sent["From"] == '"Acme Bcc: everyone@example.com" <comeback@localhost>' and sent["Bcc"] is None


def test_a_bulk_recovery_email_with_1001_ids_is_refused_with_a_message_not_cut_short(store, manager_client):
    ids = [str(ac.pk) for ac in AbandonedCheckoutFactory.build_batch(FORM_MAX_IDS + 1, store=store)]

    response = manager_client.post("/checkouts/bulk/recovery-email/", {"ids": ids, "next": "/checkouts/"}, follow=True)

    assert "Select at most 1,000 checkouts at a time." in response.content.decode()
    assert "Sending recovery emails" not in response.content.decode()
