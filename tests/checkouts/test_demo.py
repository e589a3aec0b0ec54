"""`seed_demo`: the demo login, months of history, and the automation's records agreeing with it."""

from collections import Counter
from datetime import timedelta
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from automations.funnel import automation_funnel
from automations.models import (
    Automation,
    EmailClick,
    Enrollment,
    RecoveryAttribution,
    ScheduledStep,
    SentEmail,
    Unsubscribe,
)
from automations.selectors import automation_counts, holdout_groups, unsubscribe_find
from checkouts.models import AbandonedCheckout, Activity, Checkout, Membership, Store
from checkouts.selectors import abandoned_checkouts_with_activities
from checkouts.wire import wire_current
from checkouts.wix import abandoned_checkout_to_wix, checkout_url

pytestmark = pytest.mark.django_db

State = ScheduledStep.State


def seed(*args: str) -> None:
    call_command("seed_demo", "--stores", "1", "--checkouts", "600", "--live", "5", *args)


def test_demo_login_owns_the_stores_and_is_staff():
    seed("--automation-history")
    user = get_user_model().objects.get(username="demo")
    assert user.check_password("demo") and user.is_staff
    store = Store.objects.get()
    assert Membership.objects.get(user=user, store=store).role == Membership.Role.OWNER
    assert AbandonedCheckout.objects.filter(store=store).count() == 600
    assert Checkout.objects.filter(store=store, abandon_due_at__isnull=False).count() == 5  # for the live sweep


def test_a_second_run_with_once_keeps_the_data():
    seed("--once")
    seed("--once")
    assert Store.objects.count() == 1 and AbandonedCheckout.objects.count() == 600


def test_the_automations_records_agree_with_the_checkouts_timelines():
    seed("--automation-history")
    store = Store.objects.get()
    automation = Automation.objects.get(store=store)
    by_type = Counter(Activity.objects.filter(store=store).values_list("type", "reason"))
    counts = automation_counts(store=store)[automation.pk]
    steps = Counter(ScheduledStep.objects.filter(store=store).values_list("state", "reason"))

    assert counts.checkouts == by_type[("SCHEDULED", "")] == Enrollment.objects.filter(automation=automation).count()
    assert counts.sent == by_type[("EMAIL_SENT", "")] == steps[(State.DONE, "")]
    assert steps[(State.SKIPPED, "HOLDOUT")] == by_type[("AUTOMATION_SKIPPED", "HOLDOUT")]
    assert steps[(State.CANCELLED, "RECOVERED")] == by_type[("AUTOMATION_SKIPPED", "RECOVERED")]
    assert steps[(State.SKIPPED, "UNSUBSCRIBED")] == by_type[("EMAIL_NOT_SENT", "UNSUBSCRIBED")] > 0
    # Those buyers are on the store's unsubscribe list, so the running dispatcher skips them too.
    for email in AbandonedCheckout.objects.filter(
        pk__in=Activity.objects.filter(reason="UNSUBSCRIBED").values("abandoned_checkout_id")
    ).values_list("email_key", flat=True):
        assert unsubscribe_find(store_id=store.pk, email=email) is not None
    assert Unsubscribe.objects.filter(store=store).count() <= by_type[("EMAIL_NOT_SENT", "UNSUBSCRIBED")]
    # Checkouts abandoned within the hour still wait for their email: the dispatcher sends it.
    pending = ScheduledStep.objects.filter(state=State.PENDING)
    assert counts.pending == pending.count() == pending.filter(due_at__gt=timezone.now()).count()
    assert counts.sent + counts.skipped + counts.pending == counts.scheduled
    # Enrolled checkouts that came back are the ones the page reports as recovered.
    enrolled = Enrollment.objects.filter(automation=automation).values("abandoned_checkout_id")
    assert counts.recovered == AbandonedCheckout.objects.filter(pk__in=enrolled, status="RECOVERED").count()


def test_the_holdout_report_has_both_groups_and_the_contacted_come_back_more_often():
    seed("--checkouts", "3000", "--automation-history")
    automation = Automation.objects.get()
    # The history held a tenth out; the automation itself contacts every new checkout until
    # the merchant sets a holdout, so a checkout fed in by hand is always emailed.
    assert automation.holdout_percent == 0
    contacted, held_out = holdout_groups(automation=automation)
    assert 0.05 < held_out.checkouts / (contacted.checkouts + held_out.checkouts) < 0.15
    assert contacted.rate > held_out.rate
    recovered = AbandonedCheckout.objects.filter(status="RECOVERED").count() / AbandonedCheckout.objects.count()
    assert 0.10 < recovered < 0.20  # about the 15% peers report


def test_without_automation_history_only_the_checkouts_are_written():
    seed()
    assert AbandonedCheckout.objects.count() == 600
    assert not Enrollment.objects.exists() and not ScheduledStep.objects.exists()


def test_every_email_of_the_history_can_be_read_as_sent():
    seed("--automation-history")
    store = Store.objects.get()
    emails = list(SentEmail.objects.filter(store=store).select_related("abandoned_checkout", "scheduled_step"))
    sent = Activity.objects.filter(store=store, type="EMAIL_SENT")
    assert len(emails) == sent.count() > 50
    # Each at its EMAIL_SENT activity's moment, to that checkout's buyer, for the step it carried out.
    emailed = set(sent.values_list("abandoned_checkout_id", flat=True))
    assert {email.abandoned_checkout_id for email in emails} == emailed
    for email in emails:
        ac = email.abandoned_checkout
        assert email.to_email == ac.buyer_email and email.kind == SentEmail.Kind.AUTOMATION
        assert sent.get(abandoned_checkout=ac).created_at == email.sent_at
        assert email.scheduled_step.abandoned_checkout_id == ac.pk and email.scheduled_step.state == State.DONE
        assert checkout_url(ac.pk, store.pk) in email.text_body  # the working recovery link


def test_a_bigger_history_keeps_the_newest_emails_of_each_batch(monkeypatch):
    monkeypatch.setattr("config.demo.automations.SENT_EMAILS_PER_BATCH", 20)
    monkeypatch.setattr("config.demo.checkouts.EMAILS_IN_FULL_UP_TO", 100)
    seed("--automation-history")
    sent = Activity.objects.filter(type="EMAIL_SENT")
    newest = set(sent.order_by("-created_at").values_list("abandoned_checkout_id", flat=True)[:20])
    assert set(SentEmail.objects.values_list("abandoned_checkout_id", flat=True)) == newest


def test_the_steps_funnel_reads_the_history_as_the_automations_counts_do():
    """Sent as the page counts it; clicks and recoveries credited by the live attribution rule."""
    seed("--automation-history")
    store = Store.objects.get()
    automation = Automation.objects.get(store=store)
    [funnel] = automation_funnel(automation=automation, steps=list(automation.steps.all()), since=None)
    counts = automation_counts(store=store)[automation.pk]
    assert funnel.total.sent == counts.sent
    assert 0 < funnel.total.clicked < funnel.total.sent
    assert 0 < funnel.total.recovered <= counts.recovered
    window = timedelta(days=store.attribution_window_days)
    for credit in RecoveryAttribution.objects.select_related("sent_email", "abandoned_checkout"):
        ac, email = credit.abandoned_checkout, credit.sent_email
        assert ac.status == "RECOVERED" and credit.recovered_at == ac.checkout_recovered_at
        assert email.sent_at <= credit.recovered_at <= email.sent_at + window
        assert credit.revenue == ac.total
        clicks = list(EmailClick.objects.filter(sent_email=email).values_list("clicked_at", flat=True))
        assert credit.via == ("CLICK" if clicks else "SEND")
        assert all(email.sent_at <= moment <= credit.recovered_at for moment in clicks)
    assert funnel.total.revenue == sum(credit.revenue for credit in RecoveryAttribution.objects.all())


def test_the_demo_automations_page_reports_the_historys_holdout(client):
    seed("--checkouts", "3000", "--automation-history")
    automation = Automation.objects.get()
    client.force_login(get_user_model().objects.get(username="demo"))
    html = client.get(f"/automations/{automation.pk}/").content.decode()
    contacted, held_out = holdout_groups(automation=automation)
    assert "held out and not contacted" not in html  # no holdout from now on
    assert f'<td class="num">{held_out.checkouts:,}</td>' in html
    assert f'<td class="num">{contacted.checkouts:,}</td>' in html
    assert "No holdout is set" not in html  # the history's groups are compared


def test_seeded_rows_carry_their_current_wix_json():
    seed("--automation-history")
    store = Store.objects.get()
    rows = abandoned_checkouts_with_activities(AbandonedCheckout.objects.filter(store=store))
    for ac in rows:
        assert wire_current(ac, store=store)
        assert ac.wire.encode() == orjson.dumps(abandoned_checkout_to_wix(ac, store=store))


def test_the_embedded_outbox_holds_every_email_of_the_history_dated_as_sent(settings, tmp_path):
    """var/mail/ (the file backend) and the funnel count the same emails; no other backend gets one."""
    seed("--automation-history")
    assert mail.outbox == []  # the suite's in-memory backend: the demo sends nothing through it
    SentEmail.objects.all().delete()
    Store.objects.all().delete()
    settings.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.filebased.EmailBackend", "OPTIONS": {"file_path": tmp_path}}
    }
    seed("--automation-history")
    separator = b"\n" + b"-" * 79 + b"\n"
    written = [
        message_from_bytes(chunk, policy=policy.default)
        for path in tmp_path.iterdir()
        for chunk in path.read_bytes().split(separator)
        if chunk.strip()
    ]
    emails = {email.message_id: email for email in SentEmail.objects.all()}
    assert len(written) == len(emails) > 50
    for message in written:
        email = emails[message["Message-ID"].strip()]
        assert message["Subject"] == email.subject and parsedate_to_datetime(message["Date"]) == email.sent_at.replace(
            microsecond=0
        )
