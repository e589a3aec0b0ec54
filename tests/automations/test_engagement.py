"""Engagement per email: clicks through its own signed link, opens through the optional pixel,
A/B variants recorded at send, and the funnel the automation's page shows."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from automations import stats
from automations.dispatcher.batch import process_batch
from automations.funnel import automation_funnel
from automations.messages.variants import ab_variant
from automations.models import (
    Automation,
    ContactPolicy,
    EmailClick,
    RecoveryAttribution,
    ScheduledStep,
    SentEmail,
    StepTranslation,
)
from checkouts.models import AbandonedCheckout
from checkouts.recovery_links import email_link_token
from checkouts.services import abandoned_checkout_recover
from tests.automations.helpers import abandon, after, dispatch_at, email_step, only_automation
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
LINK = re.compile(r"http://127\.0\.0\.1:8000(/ecom/v1/abandoned-checkout/[^\s\"<>]+)")
PIXEL = re.compile(r"http://127\.0\.0\.1:8000(/open/[^\s\"<>]+\.gif)")


def buyer(address: str = "203.0.113.7", agent: str = FIREFOX) -> Client:
    return Client(headers={"user-agent": agent}, REMOTE_ADDR=address)


@pytest.fixture
def store():
    store = StoreFactory(name="Acme")
    # One email per step and buyer, whenever due: the frequency cap and quiet hours have tests of their own.
    ContactPolicy.objects.create(store=store, window_hours=0, quiet_hours=False)
    return store


@pytest.fixture
def automation(store):
    return only_automation(store, name="Win back")


def _sent(ac) -> SentEmail:
    return SentEmail.objects.get(abandoned_checkout=ac, kind=SentEmail.Kind.AUTOMATION)


def _link(email: SentEmail) -> str:
    (path,) = set(LINK.findall(email.text_body))
    assert path in email.html_body.replace("&amp;", "&")
    return path.replace("&amp;", "&")


# Clicks -------------------------------------------------------------------------------------


def test_a_click_on_an_emails_own_link_is_credited_to_that_email_once_per_visitor(store, automation):
    email_step(automation, delay_value=1)
    email_step(automation, delay_value=2, subject="Still thinking?")
    (ac,) = abandon(store)
    dispatch_at(after(hours=1))
    dispatch_at(after(hours=2))
    first, second = SentEmail.objects.filter(abandoned_checkout=ac).order_by("sent_at")
    assert _link(first) != _link(second) and "&e=" in _link(first)

    assert buyer().get(_link(first)).status_code == 302
    assert buyer().get(_link(first)).status_code == 302  # the same visitor again: one click
    assert buyer().head(_link(second)).status_code == 302  # a scanner's HEAD: none
    assert buyer(agent="Mozilla/5.0 (compatible; Barracuda Sentinel)").get(_link(second)).status_code == 302
    assert list(EmailClick.objects.values_list("sent_email_id", flat=True)) == [first.pk]

    assert buyer(address="198.51.100.2").get(_link(second)).status_code == 302
    assert sorted(EmailClick.objects.values_list("sent_email_id", flat=True)) == sorted([first.pk, second.pk])
    assert AbandonedCheckout.objects.get(pk=ac.pk).link_clicks == 2


def test_old_links_without_a_token_and_forged_tokens_still_work_and_count_for_the_checkout_only(store, automation):
    email_step(automation)
    (ac,) = abandon(store)
    dispatch_at(after(hours=1))
    bare = f"/ecom/v1/abandoned-checkout/{ac.pk}/redirect-to-checkout?metasiteId={store.pk}"
    assert buyer("198.51.100.1").get(bare).status_code == 302
    assert buyer("198.51.100.2").get(bare + "&e=step-1:forged").status_code == 302
    assert AbandonedCheckout.objects.get(pk=ac.pk).link_clicks == 2
    assert not EmailClick.objects.exists()


def test_a_token_moved_onto_another_checkouts_link_credits_nothing(store, automation):
    email_step(automation)
    ac, other = abandon(store, 2)
    dispatch_at(after(hours=1))
    stolen = email_link_token(_sent(ac).idempotency_key)
    path = f"/ecom/v1/abandoned-checkout/{other.pk}/redirect-to-checkout?metasiteId={store.pk}&e={stolen}"
    assert buyer().get(path).status_code == 302
    assert not EmailClick.objects.exists()
    assert AbandonedCheckout.objects.get(pk=other.pk).link_clicks == 1


def test_a_click_then_the_order_credits_the_clicked_email_with_the_revenue(store, automation):
    email_step(automation, delay_value=1)
    email_step(automation, delay_value=2)
    (ac,) = abandon(store, total=Decimal("64.50"))
    dispatch_at(after(hours=1))
    dispatch_at(after(hours=2))
    first, _later = SentEmail.objects.filter(abandoned_checkout=ac).order_by("sent_at")
    buyer().get(_link(first))  # clicked now (the test's real clock), the order a second later
    abandoned_checkout_recover(abandoned_checkout_id=ac.pk, order_id="o-1")
    credit = RecoveryAttribution.objects.get(abandoned_checkout=ac)
    assert (credit.sent_email_id, credit.via, credit.revenue) == (first.pk, "CLICK", Decimal("64.50"))


# Opens --------------------------------------------------------------------------------------


def test_the_open_pixel_is_off_by_default(store):
    automation = only_automation(store)
    assert Automation._meta.get_field("track_opens").default is False and automation.track_opens is False
    email_step(automation)
    (ac,) = abandon(store)
    dispatch_at(after(hours=1))
    email = _sent(ac)
    assert "/open/" not in email.html_body and "/open/" not in email.text_body
    assert email.opened_at is None


def test_the_pixel_counts_the_first_open_only(store):
    automation = only_automation(store, track_opens=True)
    email_step(automation)
    (ac,) = abandon(store)
    dispatch_at(after(hours=1))
    email = _sent(ac)
    (pixel,) = PIXEL.findall(email.html_body)
    assert "/open/" not in email.text_body  # an image only: the plain-text part has none

    head = buyer().head(pixel)
    assert head.status_code == 200 and _sent(ac).opened_at is None  # a HEAD is not an open
    response = buyer().get(pixel)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a") and response["Cache-Control"] == "no-store, private"
    opened = _sent(ac).opened_at
    assert opened is not None
    buyer("198.51.100.9").get(pixel)
    assert _sent(ac).opened_at == opened

    forged = buyer().get("/open/step-1:forged.gif")
    assert forged.status_code == 200 and forged.content == response.content


def test_the_merchant_reading_a_sent_email_in_the_dashboard_is_not_an_open(store, owner):
    automation = only_automation(store, track_opens=True)
    email_step(automation)
    (ac,) = abandon(store)
    dispatch_at(after(hours=1))
    email = _sent(ac)
    assert PIXEL.findall(email.html_body)
    merchant = Client()
    merchant.force_login(owner)
    shown = merchant.get(f"/emails/{email.pk}/html/").content.decode()
    assert "/open/" not in shown and "Complete your order" in shown
    assert _sent(ac).opened_at is None


# A/B variants -------------------------------------------------------------------------------


def test_an_ab_step_splits_its_buyers_and_records_the_variant_each_got(store, automation):
    step = email_step(automation, subject="A: come back", body="Words A", subject_b="B: come back", body_b="Words B")
    checkouts = abandon(store, 40)
    dispatch_at(after(hours=1))
    emails = list(SentEmail.objects.filter(kind=SentEmail.Kind.AUTOMATION).select_related("abandoned_checkout"))
    assert len(emails) == 40 == len(mail.outbox)
    for email in emails:
        assert email.variant == ab_variant(step, email.abandoned_checkout_id)
        assert email.subject.startswith(f"{email.variant}:") and f"Words {email.variant}" in email.text_body
    split = {v: sum(e.variant == v for e in emails) for v in "AB"}
    assert split["A"] and split["B"] and split["A"] + split["B"] == 40
    # Decided by a keyed hash: the same checkout always gets the same variant.
    assert all(ab_variant(step, ac.pk) == ab_variant(step, ac.pk) for ac in checkouts)

    (funnel,) = automation_funnel(automation=automation, steps=[step], since=None)
    assert funnel.total.sent == 40
    assert {name: row.sent for name, row in funnel.variants.items()} == split
    assert funnel.comparison.verdict == "too-few"  # under 30 buyers per variant


def test_a_buyer_reading_a_translation_of_the_step_is_not_in_the_test(store, automation):
    step = email_step(automation, subject="Hello", body="Words", subject_b="Hi", body_b="Other words")
    StepTranslation.objects.create(step=step, language="fr", subject="Bonjour", body="Des mots")
    (ac,) = abandon(store, buyer_language="fr")
    dispatch_at(after(hours=1))
    email = _sent(ac)
    assert (email.variant, email.subject) == ("", "Bonjour")


def test_a_step_without_a_second_variant_records_none(store, automation):
    email_step(automation)
    (ac,) = abandon(store)
    dispatch_at(after(hours=1))
    assert _sent(ac).variant == ""


def test_the_variant_comparison_is_the_holdouts_newcombe_interval():
    """The same function, the same published figures (Newcombe 1998, Table II): 56/70 vs 48/80."""
    result = stats.variant_difference(a_recipients=80, a_recovered=48, b_recipients=70, b_recovered=56)
    assert (round(result.lower, 4), round(result.upper, 4)) == (0.0524, 0.3339)
    assert (result.difference, result.lower, result.upper) == stats.newcombe_difference(56, 70, 48, 80)
    assert result.verdict == "positive" and "Variant B recovers more" in result.message


def test_not_enough_data_until_each_variant_has_reached_thirty_buyers():
    few = stats.variant_difference(a_recipients=29, a_recovered=10, b_recipients=500, b_recovered=100)
    assert few.verdict == "too-few" and few.message.startswith("Not enough data yet") and few.lower is None
    enough = stats.variant_difference(a_recipients=30, a_recovered=3, b_recipients=30, b_recovered=4)
    assert enough.verdict == "unclear" and enough.lower < 0 < enough.upper


# The funnel ---------------------------------------------------------------------------------


def test_the_funnel_counts_what_was_sent_opened_clicked_and_recovered_per_step_and_variant(store):
    automation = only_automation(store, track_opens=True)
    first = email_step(automation, delay_value=1, subject="A", body="A", subject_b="B")
    second = email_step(automation, delay_value=2)
    checkouts = abandon(store, 6, total=Decimal("10.00"))
    dispatch_at(after(hours=1))
    # Two buyers come back before the second email: it goes to four.
    early = checkouts[:2]
    for i, ac in enumerate(early):
        email = SentEmail.objects.get(abandoned_checkout=ac)
        buyer(f"198.51.100.{i}").get(_link(email))
        buyer(f"198.51.100.{i}").get(PIXEL.findall(email.html_body)[0])
        abandoned_checkout_recover(abandoned_checkout_id=ac.pk, order_id=f"o-{i}")
    dispatch_at(after(hours=2))
    abandoned_checkout_recover(abandoned_checkout_id=checkouts[2].pk, order_id="o-late", recovered_at=after(hours=3))

    funnels = {f.step.pk: f for f in automation_funnel(automation=automation, steps=[first, second], since=None)}
    one, two = funnels[first.pk].total, funnels[second.pk].total
    assert (one.sent, one.opened, one.clicked, one.recovered, one.revenue) == (6, 2, 2, 2, Decimal("20.00"))
    assert (two.sent, two.opened, two.clicked, two.recovered, two.revenue) == (4, 0, 0, 1, Decimal("10.00"))
    assert one.revenue_per_recipient == Decimal("20.00") / 6
    # The counts are the emails written, nothing else.
    assert one.sent + two.sent == SentEmail.objects.filter(kind=SentEmail.Kind.AUTOMATION).count() == len(mail.outbox)
    variants = funnels[first.pk].variants
    assert sum(row.sent for row in variants.values()) == 6
    assert sum(row.recovered for row in variants.values()) == 2
    early_variants = sorted(SentEmail.objects.filter(abandoned_checkout__in=early).values_list("variant", flat=True))
    assert sorted(v for v, row in variants.items() for _ in range(row.clicked)) == early_variants


def test_the_period_counts_emails_by_when_they_were_sent(store, automation):
    step = email_step(automation)
    abandon(store, 2)
    dispatch_at(after(hours=1))
    assert automation_funnel(automation=automation, steps=[step], since=after(hours=1))[0].total.sent == 2
    assert automation_funnel(automation=automation, steps=[step], since=after(hours=1, seconds=1))[0].total.sent == 0


def test_a_text_step_counts_the_texts_sent(store):
    automation = only_automation(store, require_email=False)
    step = email_step(automation, action="NOTIFY_BUYER", message="Come back {{ recovery_url }}")
    abandon(store, 3, phone="+33612345678", marketing_consent={"sms": True})
    dispatch_at(after(hours=1))
    (funnel,) = automation_funnel(automation=automation, steps=[step], since=None)
    assert funnel.channel == "sms" and funnel.total.sent == 3
    assert ScheduledStep.objects.filter(step=step, state="DONE").count() == 3


def _page_queries(client, automation) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/automations/{automation.pk}/?period=all")
    assert response.status_code == 200
    return len(queries)


def test_the_automation_page_reads_a_constant_number_of_queries(store, automation, owner):
    client = Client()
    client.force_login(owner)
    email_step(automation, delay_value=1, subject_b="B")
    email_step(automation, delay_value=5, action="NOTIFY_BUYER", message="Hi")
    abandon(store, 2)
    dispatch_at(after(hours=1))
    _page_queries(client, automation)  # the session's first request reads more (the login's bookkeeping)
    few = _page_queries(client, automation)
    for delay in (2, 3, 4):
        email_step(automation, delay_value=delay, subject_b="Other")
    abandon(store, 20)
    for hours in (1, 2, 3, 4):
        dispatch_at(after(hours=hours))
    for ac in AbandonedCheckout.objects.filter(store=store)[:5]:
        abandoned_checkout_recover(abandoned_checkout_id=ac.pk)
    assert SentEmail.objects.count() > 40
    assert _page_queries(client, automation) == few


def test_the_dispatcher_records_variants_at_a_constant_number_of_queries_per_batch(store):
    """Picking and recording the variant costs no query per step: a batch of 5 and one of 25
    read and write the same number of times."""
    automation = only_automation(store, track_opens=True)
    email_step(automation, subject_b="B", body_b="B words")

    def batch_queries(count: int) -> int:
        abandon(store, count)
        ids = list(ScheduledStep.objects.filter(state="PENDING").values_list("pk", flat=True))
        ScheduledStep.objects.filter(pk__in=ids).update(state="RUNNING", attempts=1)
        with CaptureQueriesContext(connection) as queries:
            process_batch(ids)
        assert SentEmail.objects.filter(scheduled_step_id__in=ids).exclude(variant="").count() == count
        return len(queries)

    assert batch_queries(5) == batch_queries(25)
