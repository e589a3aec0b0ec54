"""“Send recovery email now”: preview, send, the guard against sending twice, bulk."""

import email.policy
from datetime import timedelta
from html import escape
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client

from automations.models import ContactPolicy, Notification, SentEmail, Unsubscribe
from checkouts.models import AbandonedCheckout, Activity, Membership
from tests.automations.helpers import T0, activities, email_step, only_automation
from tests.automations.mailers import smtp_mailer
from tests.factories import AbandonedCheckoutFactory, MembershipFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def flash(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


@pytest.fixture
def checkout(store):
    automation = only_automation(store)
    email_step(automation, subject="Back for {{ first_name }}?")
    return AbandonedCheckoutFactory(store=store, first_name="Ada", created_at=T0)


def test_the_page_previews_the_email_for_this_checkout(client, owner, checkout):
    client.force_login(owner)
    response = client.get(f"/checkouts/{checkout.pk}/recovery-email/")
    assert response.status_code == 200
    assert response.context["email"].subject == "Back for Ada?"
    assert "Send it now" in response.content.decode()
    frame = client.get(f"/checkouts/{checkout.pk}/recovery-email/html/")
    assert "Complete your order" in frame.content.decode()


def test_sending_logs_email_sent_and_a_second_send_within_the_window_is_refused(client, owner, checkout, settings):
    settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES = 60
    ContactPolicy.objects.create(store=checkout.store, window_hours=1)  # the store's cap no longer than the guard
    client.force_login(owner)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        response = client.post(f"/checkouts/{checkout.pk}/recovery-email/")
    assert response["Location"] == f"/checkouts/{checkout.pk}/"
    (message,) = mail.outbox
    assert message.subject == "Back for Ada?" and message.to == [checkout.buyer_email]
    assert activities(checkout) == [("EMAIL_SENT", "")]
    assert SentEmail.objects.get().kind == SentEmail.Kind.MANUAL
    with time_machine.travel(T0 + timedelta(hours=2, minutes=30), tick=False):
        again = client.post(f"/checkouts/{checkout.pk}/recovery-email/")
        page = client.get(f"/checkouts/{checkout.pk}/recovery-email/")
    assert "already went to this buyer at 2026-11-28 12:00" in flash(again)
    assert len(mail.outbox) == 1 and activities(checkout) == [("EMAIL_SENT", "")]
    assert page.context["guarded"] and "Send it now" not in page.content.decode()
    with time_machine.travel(T0 + timedelta(hours=3, minutes=1), tick=False):
        client.post(f"/checkouts/{checkout.pk}/recovery-email/")
    assert len(mail.outbox) == 2


@pytest.mark.parametrize(
    ("arrange", "says"),
    [
        ("recovered", "Recovered on 2026-11-28: no recovery email is sent after a recovery."),
        ("unsubscribed", "Unsubscribed on 2026-11-28: no email can be sent."),
        ("no_email", "No email address (none was left, or the buyer's details were erased): no email can be sent."),
    ],
)
def test_an_email_that_cannot_be_sent_is_not_offered_and_a_post_anyway_logs_nothing(
    client, owner, checkout, arrange, says
):
    if arrange == "recovered":
        AbandonedCheckout.objects.filter(pk=checkout.pk).update(status="RECOVERED", checkout_recovered_at=T0)
    elif arrange == "unsubscribed":
        with time_machine.travel(T0, tick=False):
            Unsubscribe.objects.create(store=checkout.store, email=checkout.email_key)
    else:
        AbandonedCheckout.objects.filter(pk=checkout.pk).update(buyer_email="", email_key="")
    client.force_login(owner)
    detail = client.get(f"/checkouts/{checkout.pk}/").content.decode()
    assert f'href="/checkouts/{checkout.pk}/recovery-email/"' not in detail
    assert "disabled>Send recovery email</button>" in detail and escape(says) in detail
    confirm = client.get(f"/checkouts/{checkout.pk}/recovery-email/").content.decode()
    assert escape(says) in confirm and "Send it now" not in confirm
    for _ in range(2):
        response = client.post(f"/checkouts/{checkout.pk}/recovery-email/", follow=True)
        assert escape(f"Not sent. {says}") in response.content.decode()
    assert mail.outbox == []
    assert activities(checkout) == []


def test_an_address_the_smtp_backend_refuses_logs_email_not_sent(client, owner, checkout, settings):
    AbandonedCheckout.objects.filter(pk=checkout.pk).update(buyer_email="chloé@example.com")
    client.force_login(owner)
    with smtp_mailer(settings) as received:
        response = client.post(f"/checkouts/{checkout.pk}/recovery-email/")
    assert response.status_code == 302 and received == []
    assert activities(checkout) == [("EMAIL_NOT_SENT", "SEND_FAILED")]


def test_over_smtp_the_unsubscribe_header_arrives_as_a_link_that_works(client, owner, checkout, settings):
    client.force_login(owner)
    with smtp_mailer(settings) as received:
        client.post(f"/checkouts/{checkout.pk}/recovery-email/")
    [raw] = received
    # Longer than a line: the standard library alone would have sent RFC 2047 encoded words.
    header = next(line for line in raw.splitlines() if line.startswith(b"List-Unsubscribe:"))
    assert b"=?" not in header and len(header) > 78
    link = email.message_from_bytes(raw, policy=email.policy.default)["List-Unsubscribe"]
    assert link.startswith("<http://") and link.endswith(">")
    # What a mailbox provider's one-click POST is (RFC 8058): no session, no CSRF token.
    provider = Client(enforce_csrf_checks=True)
    assert provider.post(urlsplit(link[1:-1]).path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Unsubscribe.objects.filter(store=checkout.store).count() == 1


def test_viewers_cannot_send_and_other_stores_checkouts_are_404(client, store, checkout):
    viewer = MembershipFactory(store=store, role=Membership.Role.VIEWER, user=UserFactory(username="v")).user
    client.force_login(viewer)
    assert client.post(f"/checkouts/{checkout.pk}/recovery-email/").status_code == 403
    other = AbandonedCheckoutFactory(store=StoreFactory())
    manager = MembershipFactory(store=store, role=Membership.Role.MANAGER, user=UserFactory(username="m")).user
    client.force_login(manager)
    assert client.get(f"/checkouts/{other.pk}/recovery-email/").status_code == 404
    assert client.post(f"/checkouts/{other.pk}/recovery-email/").status_code == 404
    assert mail.outbox == []


def test_bulk_send_skips_the_guarded_and_reports_counts(client, owner, checkout):
    store = checkout.store
    fresh = [AbandonedCheckoutFactory(store=store) for _ in range(2)]
    unsubscribed = AbandonedCheckoutFactory(store=store)
    Unsubscribe.objects.create(store=store, email=unsubscribed.email_key)
    foreign = AbandonedCheckoutFactory(store=StoreFactory())
    client.force_login(owner)
    client.post(f"/checkouts/{checkout.pk}/recovery-email/")
    ids = [checkout.pk, *(ac.pk for ac in fresh), unsubscribed.pk, foreign.pk]
    response = client.post("/checkouts/bulk/recovery-email/", {"ids": ids, "next": "/checkouts/?q=x"})
    assert flash(response).endswith(
        "Recovery emails: 2 sent, 1 skipped (emailed in the last 60 minutes), "
        "1 not sent (recovered, unsubscribed or no email), 1 not found."
    )
    assert response["Location"] == "/checkouts/?q=x"
    assert sorted(m.to[0] for m in mail.outbox[1:]) == sorted(ac.buyer_email for ac in fresh)


def test_a_big_selection_is_sent_in_the_worker_and_reported_by_notification(
    client, owner, store, django_capture_on_commit_callbacks
):
    checkouts = [AbandonedCheckoutFactory(store=store) for _ in range(25)]
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post("/checkouts/bulk/recovery-email/", {"ids": [ac.pk for ac in checkouts]})
    assert "in the background" in flash(response)
    # Nothing is sent while the merchant waits; the worker does it once the request commits.
    assert mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 25
    note = Notification.objects.get(recipient=owner)
    assert note.text == "Recovery emails: 25 sent." and note.link == "/emails/"
    assert Activity.objects.filter(type="EMAIL_SENT").count() == 25


def test_the_plain_text_preview_escapes_the_buyers_markup(client, owner, store):
    """The text version is plain text: a buyer's `<meta http-equiv=refresh>` must not reach the page as a tag."""
    automation = only_automation(store)
    email_step(automation, subject="Hi", body="Hi {{ first_name }}")
    hostile = '<meta http-equiv=refresh content="0;url=https://phish.example">'
    checkout = AbandonedCheckoutFactory(store=store, first_name=hostile, created_at=T0)
    client.force_login(owner)
    page = client.get(f"/checkouts/{checkout.pk}/recovery-email/").content.decode()
    assert "<meta http-equiv=refresh" not in page
    assert "&lt;meta http-equiv=refresh content=&quot;0;url=https://phish.example&quot;&gt;" in page
