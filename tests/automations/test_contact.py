"""Smart sending: one recovery message per buyer per store window, the newest checkout's sequence
only, nothing at night, and texts only with consent (issue 18, items 1-3)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from automations.models import ContactLedger, ContactPolicy, Reason, ScheduledStep, TextOptOut, buyer_key
from automations.notify.backends import locmem as sms
from automations.services.contact import text_opt_out_record
from automations.services.manual import ManualResult, recovery_email_send
from tests.automations.helpers import T0, abandon, activities, after, dispatch_at, email_step, one_step, only_automation
from tests.factories import AutomationFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

State = ScheduledStep.State
SMS = {"action": "NOTIFY_BUYER", "message": "Your cart is waiting"}


@pytest.fixture(autouse=True)
def empty_sms_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def store():
    return StoreFactory(name="Acme")


def test_a_manual_send_then_a_due_step_inside_the_window_sends_once(store):
    email_step(only_automation(store), delay_value=3, delay_unit="HOURS")
    (ac,) = abandon(store, buyer_email="ada@example.com")
    with time_machine.travel(after(minutes=10), tick=False):
        assert recovery_email_send(store=store, abandoned_checkout_id=ac.pk, user=UserFactory()).result == "SENT"
    # Three hours on: past the per-checkout guard (60 minutes), inside the store's 16 hours.
    assert dispatch_at(after(hours=3)).outcomes == {"AUTOMATION_SKIPPED:RECENTLY_CONTACTED": 1}
    assert len(mail.outbox) == 1
    assert activities(ac)[-1] == ("AUTOMATION_SKIPPED", Reason.RECENTLY_CONTACTED)


def test_a_due_step_then_a_manual_send_inside_the_window_sends_once(store):
    email_step(only_automation(store))
    _first, second = abandon(store, 2, buyer_email="ada@example.com")
    outcomes = dispatch_at(after(hours=1)).outcomes
    assert outcomes == {"EMAIL_SENT": 1, "AUTOMATION_SKIPPED:RECENTLY_CONTACTED": 1}
    with time_machine.travel(after(hours=5), tick=False):
        # The other checkout of the same buyer: the cap is the buyer's, not the checkout's.
        sent = recovery_email_send(store=store, abandoned_checkout_id=second.pk, user=UserFactory())
    assert (sent.result, sent.reason, sent.last_sent_at) == (ManualResult.GUARDED, "RECENTLY_CONTACTED", after(hours=1))
    assert len(mail.outbox) == 1


def test_two_automations_due_at_the_same_second_for_one_buyer_send_once(store, settings):
    settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES = 0  # the per-checkout guard off: the ledger alone decides
    email_step(only_automation(store, name="Emails"))
    email_step(AutomationFactory(store=store, name="Texts"), **SMS)
    abandon(store, phone="+33 6 12 34 56 78", marketing_consent={"sms": True, "email": True})
    outcomes = dispatch_at(after(hours=1)).outcomes
    assert sorted(outcomes.values()) == [1, 1] and "AUTOMATION_SKIPPED:RECENTLY_CONTACTED" in outcomes
    assert len(mail.outbox) + len(sms.outbox) == 1
    assert ContactLedger.objects.get().last_contacted_at == after(hours=1)


def test_past_the_window_the_buyer_is_contacted_again(store):
    ContactPolicy.objects.create(store=store, window_hours=5)
    automation = only_automation(store)
    email_step(automation, position=1, delay_value=1, delay_unit="HOURS")
    email_step(automation, position=2, delay_value=4, delay_unit="HOURS")
    email_step(automation, position=3, delay_value=7, delay_unit="HOURS")
    (ac,) = abandon(store)
    for hours in (1, 4, 7):
        dispatch_at(after(hours=hours))
    assert [r for _, r in activities(ac)[1:]] == ["", Reason.RECENTLY_CONTACTED, ""]
    assert len(mail.outbox) == 2


def test_the_window_is_per_store(store):
    other = StoreFactory(name="Other")
    for shop in (store, other):
        email_step(only_automation(shop))
        abandon(shop, buyer_email="ada@example.com")
    assert dispatch_at(after(hours=1)).outcomes == {"EMAIL_SENT": 2}
    assert ContactLedger.objects.filter(buyer_key=buyer_key(email="ada@example.com", phone="")).count() == 2


def test_a_newer_checkout_of_the_same_buyer_cancels_the_older_sequence(store):
    automation = only_automation(store)
    email_step(automation, position=1, delay_value=1, delay_unit="HOURS")
    email_step(automation, position=2, delay_value=1, delay_unit="DAYS")
    (older,) = abandon(store, buyer_email="Ada@Example.com")
    (newer,) = abandon(store, when=after(minutes=30), buyer_email="ada@example.com")
    (stranger,) = abandon(store, buyer_email="bob@example.com")
    assert dispatch_at(after(hours=2)).outcomes == {"EMAIL_SENT": 2, "AUTOMATION_SKIPPED:NEWER_CHECKOUT": 1}
    dispatch_at(after(days=2))
    assert [r for _, r in activities(older)[1:]] == [Reason.NEWER_CHECKOUT, Reason.NEWER_CHECKOUT]
    assert [t for t, _ in activities(newer)[1:]] == ["EMAIL_SENT", "EMAIL_SENT"]
    assert [t for t, _ in activities(stranger)[1:]] == ["EMAIL_SENT", "EMAIL_SENT"]
    assert {m.to[0] for m in mail.outbox} == {"ada@example.com", "bob@example.com"}


def test_a_newer_phone_only_checkout_cancels_the_older_text_sequence(store):
    email_step(only_automation(store, require_email=False), **SMS)
    consent = {"sms": True}
    (older,) = abandon(store, buyer_email="", phone="+15555550100", marketing_consent=consent)
    (newer,) = abandon(store, when=after(minutes=5), buyer_email="", phone="+15555550100", marketing_consent=consent)
    dispatch_at(after(hours=2))
    assert activities(older)[-1] == ("AUTOMATION_SKIPPED", Reason.NEWER_CHECKOUT)
    assert activities(newer)[-1] == ("NOTIFICATION_SENT", "")
    assert len(sms.outbox) == 1


def test_quiet_hours_move_a_due_send_to_8_local(store):
    store.time_zone = "Europe/Paris"
    store.save()
    paris = ZoneInfo("Europe/Paris")
    email_step(only_automation(store), delay_value=2, delay_unit="HOURS")
    evening = datetime(2026, 11, 28, 20, 30, tzinfo=paris)
    (ac,) = abandon(store, when=evening)
    due = evening + timedelta(hours=2)  # 22:30 in Paris
    assert dispatch_at(due).outcomes == {"DEFERRED:QUIET_HOURS": 1}
    step = one_step(ac)
    assert (step.state, step.due_at, step.attempts) == (State.PENDING, datetime(2026, 11, 29, 8, 0, tzinfo=paris), 0)
    assert mail.outbox == [] and activities(ac) == [("SCHEDULED", "")]
    assert dispatch_at(datetime(2026, 11, 29, 7, 59, tzinfo=paris)).outcomes == {}
    assert dispatch_at(datetime(2026, 11, 29, 8, 0, tzinfo=paris)).outcomes == {"EMAIL_SENT": 1}


def test_quiet_hours_follow_the_buyers_time_zone_when_the_storefront_sent_it(store):
    store.time_zone = "Europe/Paris"
    store.save()
    tokyo, paris = ZoneInfo("Asia/Tokyo"), ZoneInfo("Europe/Paris")
    email_step(only_automation(store), delay_value=1, delay_unit="HOURS")
    afternoon = datetime(2026, 11, 28, 13, 30, tzinfo=paris)  # 21:30 in Tokyo
    (in_tokyo,) = abandon(store, when=afternoon, buyer_time_zone="Asia/Tokyo")
    (unknown,) = abandon(store, when=afternoon, buyer_time_zone="Mars/Olympus_Mons")  # not a zone: the store's
    (at_home,) = abandon(store, when=afternoon, buyer_time_zone="")
    outcomes = dispatch_at(afternoon + timedelta(hours=1)).outcomes  # 14:30 in Paris, 22:30 in Tokyo
    assert outcomes == {"DEFERRED:QUIET_HOURS": 1, "EMAIL_SENT": 2}
    assert one_step(in_tokyo).due_at == datetime(2026, 11, 29, 8, 0, tzinfo=tokyo)
    assert one_step(unknown).state == one_step(at_home).state == State.DONE


def test_before_the_day_starts_a_send_waits_until_8_the_same_day(store):
    email_step(only_automation(store), **SMS)
    (ac,) = abandon(store, when=T0.replace(hour=3), phone="+15555550100", marketing_consent={"sms": True})
    dispatch_at(T0.replace(hour=4))
    assert one_step(ac).due_at == T0.replace(hour=8) and sms.outbox == []


def test_quiet_hours_off_sends_at_night(store):
    ContactPolicy.objects.create(store=store, quiet_hours=False)
    email_step(only_automation(store))
    abandon(store, when=T0.replace(hour=22))
    assert dispatch_at(T0.replace(hour=23)).outcomes == {"EMAIL_SENT": 1}


@pytest.mark.parametrize("consent", [None, {}, {"sms": False}, {"email": True}, {"sms": "yes"}])
def test_no_text_without_consent(store, consent):
    email_step(only_automation(store), **SMS)
    (ac,) = abandon(store, phone="+15555550100", marketing_consent=consent)
    assert dispatch_at(after(hours=1)).outcomes == {"AUTOMATION_SKIPPED:NO_CONSENT": 1}
    assert sms.outbox == [] and activities(ac)[-1] == ("AUTOMATION_SKIPPED", Reason.NO_CONSENT)


def test_a_stop_reply_ends_texting_that_number_for_that_store_only(store):
    other = StoreFactory(name="Other")
    for shop in (store, other):
        email_step(only_automation(shop), **SMS)
        abandon(shop, phone="+1 (555) 555-0100", marketing_consent={"sms": True})
    text_opt_out_record(store=store, phone="+15555550100")
    text_opt_out_record(store=store, phone="+1 555 555 0100")  # reported twice: one row
    assert dispatch_at(after(hours=1)).outcomes == {"NOTIFICATION_SENT": 1, "AUTOMATION_SKIPPED:OPTED_OUT": 1}
    assert TextOptOut.objects.count() == 1
    assert [t.to for t in sms.outbox] == ["+1 (555) 555-0100"]


def test_a_store_can_require_marketing_consent_for_emails(store):
    ContactPolicy.objects.create(store=store, require_email_consent=True)
    email_step(only_automation(store))
    refused, accepted = abandon(store, 2)
    for ac, consent in ((refused, {"email": False}), (accepted, {"email": True})):
        ac.marketing_consent = consent
        ac.save(update_fields=["marketing_consent"])
    assert dispatch_at(after(hours=1)).outcomes == {"EMAIL_SENT": 1, "AUTOMATION_SKIPPED:NO_CONSENT": 1}
    assert [m.to for m in mail.outbox] == [[accepted.buyer_email]]
    with time_machine.travel(after(days=2), tick=False):
        manual = recovery_email_send(store=store, abandoned_checkout_id=refused.pk, user=UserFactory())
    assert (manual.result, manual.reason) == (ManualResult.NOT_SENT, Reason.NO_CONSENT)
    assert len(mail.outbox) == 1


def test_without_the_store_setting_an_email_needs_no_consent(store):
    email_step(only_automation(store))
    abandon(store, marketing_consent={"email": False})
    assert dispatch_at(after(hours=1)).outcomes == {"EMAIL_SENT": 1}
