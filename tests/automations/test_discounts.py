"""Discount codes: which messages carry one, where it comes from, who got it, and the orders
that used it."""

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.dispatcher import claim_due_steps
from automations.dispatcher.batch import process_batch
from automations.models import (
    AutomationStep,
    ContactPolicy,
    DiscountCode,
    DiscountGrant,
    DiscountOffer,
    Notification,
    Unsubscribe,
)
from automations.notify.backends import locmem as sms
from automations.services.discount_pool import discount_codes_upload
from automations.services.manual import recovery_email_send
from checkouts.models import AbandonedCheckout
from checkouts.services import abandoned_checkouts_detect, checkout_events_ingest
from tests.automations.helpers import T0, abandon, activities, after, dispatch_at, email_step, only_automation
from tests.checkouts.helpers import at, completed_event, updated_event
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def automation(store):
    # Every message goes out: the frequency cap and quiet hours are tested elsewhere.
    ContactPolicy.objects.create(store=store, window_hours=0, quiet_hours=False)
    return only_automation(store, name="Win back")


def pool(automation, *codes: str) -> None:
    discount_codes_upload(automation=automation, data="\n".join(codes).encode())


def codes_in(message) -> tuple[str, str]:
    return message.body, message.alternatives[0][0]


def test_a_static_code_shows_in_the_emails_from_the_offers_step_on(store, automation):
    email_step(automation, position=1, delay_value=1)
    second = email_step(automation, position=2, delay_value=2)
    DiscountOffer.objects.create(automation=automation, source="STATIC", static_code="COMEBACK10", from_position=2)
    (ac,) = abandon(store)
    dispatch_at(after(hours=1))
    assert "COMEBACK10" not in mail.outbox[0].body and "Your discount code" not in mail.outbox[0].body
    dispatch_at(after(hours=2))
    text, html = codes_in(mail.outbox[1])
    assert "Your discount code: COMEBACK10" in text and "Enter it at checkout" in text
    assert ">COMEBACK10</div>" in html and "Your discount code" in html
    grant = DiscountGrant.objects.get()
    assert (grant.code, grant.source, grant.abandoned_checkout_id) == ("COMEBACK10", "STATIC", ac.pk)
    assert grant.scheduled_step.step_id == second.pk and grant.idempotency_key == grant.scheduled_step.idempotency_key


def test_a_step_that_names_the_code_carries_it_whatever_its_position(store, automation):
    email_step(automation, position=1, body="Use {{ discount_code }} for 10% off.")
    DiscountOffer.objects.create(automation=automation, source="STATIC", static_code="TEN", from_position=3)
    abandon(store)
    dispatch_at(after(hours=1))
    assert "Use TEN for 10% off." in mail.outbox[0].body and "Your discount code: TEN" in mail.outbox[0].body


def test_a_pool_code_goes_to_one_checkout_and_stays_with_it_for_later_steps(store, automation):
    email_step(automation, position=1, delay_value=1)
    email_step(automation, position=2, delay_value=2)
    DiscountOffer.objects.create(automation=automation, source="POOL")
    pool(automation, "A-1", "A-2", "A-3")
    first, second = abandon(store, 2)
    dispatch_at(after(hours=1))
    dispatch_at(after(hours=2))
    given = dict(DiscountGrant.objects.values_list("abandoned_checkout_id", "code"))
    assert sorted(given.values()) == ["A-1", "A-2"]
    for message in mail.outbox:
        ac = first if message.to == [first.buyer_email] else second
        assert f"Your discount code: {given[ac.pk]}" in message.body
    assert len(mail.outbox) == 4
    assert list(DiscountCode.objects.free().values_list("code", flat=True)) == ["A-3"]


def test_no_code_left_skips_the_step_and_tells_the_managers_once(store, automation):
    manager = MembershipFactory(store=store, user=UserFactory(username="mia"), role="MANAGER").user
    MembershipFactory(store=store, user=UserFactory(username="vic"), role="VIEWER")
    email_step(automation, position=1)
    DiscountOffer.objects.create(automation=automation, source="POOL")
    pool(automation, "ONLY-ONE")
    checkouts = abandon(store, 3)
    assert dispatch_at(after(hours=1)).outcomes == {"EMAIL_SENT": 1, "AUTOMATION_SKIPPED:NO_CODE_LEFT": 2}
    assert len(mail.outbox) == 1 and "ONLY-ONE" in mail.outbox[0].body
    skipped = [ac for ac in checkouts if ("AUTOMATION_SKIPPED", "NO_CODE_LEFT") in activities(ac)]
    assert len(skipped) == 2
    (note,) = Notification.objects.all()
    assert note.recipient == manager and "no discount codes left" in note.text
    assert note.link == f"/automations/{automation.pk}/discount/"
    # Still empty at the next batch: no second notification until codes are uploaded again.
    abandon(store, 1, when=after(hours=1))
    dispatch_at(after(hours=2))
    assert Notification.objects.count() == 1
    pool(automation, "NEW-1")
    assert DiscountOffer.objects.get().low_warned_at is None


def test_the_low_warning_comes_when_fewer_than_20_or_a_tenth_are_left(store, automation):
    MembershipFactory(store=store, user=UserFactory(username="olga"), role="OWNER")
    email_step(automation, position=1)
    DiscountOffer.objects.create(automation=automation, source="POOL")
    pool(automation, *[f"C-{i}" for i in range(25)])
    abandon(store, 5)
    dispatch_at(after(hours=1))
    assert not Notification.objects.exists()  # 20 left of 25: not yet low
    abandon(store, 1, when=after(hours=1))
    dispatch_at(after(hours=2))
    (note,) = Notification.objects.all()
    assert "has 19 of 25 discount codes left" in note.text


def test_codes_of_messages_not_sent_go_back_to_the_pool(store, automation):
    email_step(automation, position=1)
    DiscountOffer.objects.create(automation=automation, source="POOL")
    pool(automation, "K-1", "K-2")
    unsubscribed, sent = abandon(store, 2)
    Unsubscribe.objects.create(store=store, email=unsubscribed.email_key)
    dispatch_at(after(hours=1))
    assert DiscountGrant.objects.get().abandoned_checkout_id == sent.pk
    assert DiscountCode.objects.free().count() == 1


def test_a_text_carries_the_code_when_it_names_it(store, automation):
    AutomationStep.objects.create(
        automation=automation, position=1, action="NOTIFY_BUYER", message="{{ store_name }}: {{ discount_code }}"
    )
    DiscountOffer.objects.create(automation=automation, source="STATIC", static_code="SMS5")
    sms.outbox.clear()
    abandon(store, phone="+15555550100", marketing_consent={"sms": True})
    dispatch_at(after(hours=1))
    assert [m.body for m in sms.outbox] == ["Acme: SMS5"]
    assert DiscountGrant.objects.get().code == "SMS5"


def test_an_automation_without_an_offer_renders_discount_code_empty(store, automation):
    email_step(automation, position=1, body="Code: [{{ discount_code }}]")
    abandon(store)
    dispatch_at(after(hours=1))
    assert "Code: []" in mail.outbox[0].body and "Your discount code" not in mail.outbox[0].body
    assert not DiscountGrant.objects.exists()


def test_a_hand_sent_email_gives_the_automations_code_and_the_steps_reuse_it(store, automation, owner, settings):
    settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES = 0  # the step sends too (the guard is tested elsewhere)
    email_step(automation, position=1)
    DiscountOffer.objects.create(automation=automation, source="POOL")
    pool(automation, "H-1", "H-2")
    (ac,) = abandon(store)
    with time_machine.travel(after(minutes=5), tick=False):
        assert recovery_email_send(store=store, abandoned_checkout_id=ac.pk, user=owner).result == "SENT"
    grant = DiscountGrant.objects.get()
    assert grant.code == "H-1" and grant.scheduled_step is None and grant.idempotency_key.startswith("manual-")
    dispatch_at(after(hours=1))
    assert ["H-1" in m.body for m in mail.outbox] == [True, True]
    assert DiscountCode.objects.free().count() == 1


def test_a_hand_sent_email_with_no_code_left_is_not_sent(store, automation, owner):
    email_step(automation, position=1)
    DiscountOffer.objects.create(automation=automation, source="POOL")
    (ac,) = abandon(store)
    with time_machine.travel(after(minutes=5), tick=False):
        sent = recovery_email_send(store=store, abandoned_checkout_id=ac.pk, user=owner)
    assert (sent.result, sent.reason) == ("NOT_SENT", "NO_CODE_LEFT") and mail.outbox == []
    assert ("EMAIL_NOT_SENT", "NO_CODE_LEFT") in activities(ac)


def test_a_batch_with_codes_costs_the_same_queries_for_5_or_40_due_steps(store, automation):
    email_step(automation, position=1)
    DiscountOffer.objects.create(automation=automation, source="POOL")
    pool(automation, *[f"Q-{i}" for i in range(200)])

    def batch_queries(count: int, when) -> int:
        abandon(store, count, when=when)
        due = when + (after(hours=1) - T0)
        with time_machine.travel(due, tick=False), CaptureQueriesContext(connection) as captured:
            outcomes = process_batch(claim_due_steps(now=due, batch_size=100))
        assert outcomes == {"EMAIL_SENT": count}
        return len(captured)

    assert batch_queries(5, T0) == batch_queries(40, after(days=1))
    assert DiscountGrant.objects.values("code").distinct().count() == 45


def test_a_completion_that_used_the_code_is_attributed_to_it(store, automation):
    email_step(automation, position=1)
    DiscountOffer.objects.create(automation=automation, source="POOL")
    pool(automation, "WIN-1", "WIN-2")
    checkout_events_ingest(store=store, events=[updated_event("co-1"), updated_event("co-2", email="bo@example.com")])
    with time_machine.travel(at(90), tick=False):
        assert abandoned_checkouts_detect() == 2
    dispatch_at(at(90 + 60))
    grants = DiscountGrant.objects.select_related("abandoned_checkout")
    given = {grant.abandoned_checkout.checkout_external_id: grant.code for grant in grants}
    # The buyer of co-1 comes back, types the code (the storefront reports it), and pays;
    # co-2's buyer pays with a code of their own.
    coupon = {"coupon": {"code": given["co-1"].lower(), "amount": {"amount": "12.00"}}}
    other = {"coupon": {"code": "SUMMER", "amount": {"amount": "5.00"}}}
    events = [
        updated_event("co-1", minutes=200, total="108.00", appliedDiscounts=[coupon]),
        updated_event("co-2", minutes=200, email="bo@example.com", appliedDiscounts=[other]),
        completed_event("co-1", minutes=201, order_id="order-7"),
        completed_event("co-2", minutes=201, order_id="order-8"),
    ]
    checkout_events_ingest(store=store, events=events)
    assert AbandonedCheckout.objects.filter(status="RECOVERED").count() == 2
    used = DiscountGrant.objects.get(redeemed_at__isnull=False)
    assert (used.code, used.redeemed_order_id, used.redeemed_total, used.redeemed_currency) == (
        given["co-1"],
        "order-7",
        108,
        "USD",
    )
    assert used.redeemed_at == at(201)


@pytest.mark.parametrize("order_codes", ["the given code", "none", "not said"])
def test_the_completion_says_which_code_the_order_used(store, automation, order_codes):
    """The cart never showed the code (or showed it, then the buyer paid without it): the order's word counts."""
    email_step(automation, position=1)
    DiscountOffer.objects.create(automation=automation, source="POOL")
    pool(automation, "WIN-1")
    coupon = {"coupon": {"code": "WIN-1", "amount": {"amount": "12.00"}}}
    cart = [] if order_codes == "the given code" else [coupon]
    checkout_events_ingest(store=store, events=[updated_event("co-1")])
    with time_machine.travel(at(90), tick=False):
        assert abandoned_checkouts_detect() == 1
    dispatch_at(at(90 + 60))
    assert DiscountGrant.objects.get().code == "WIN-1"
    completion = completed_event("co-1", minutes=201, order_id="order-7")
    if order_codes != "not said":
        completion["checkout"]["appliedDiscounts"] = [coupon] if order_codes == "the given code" else []
    checkout_events_ingest(store=store, events=[updated_event("co-1", minutes=200, appliedDiscounts=cart), completion])
    assert AbandonedCheckout.objects.get().status == "RECOVERED"
    grant = DiscountGrant.objects.get()
    assert (grant.redeemed_order_id, grant.redeemed_at) == (
        ("", None) if order_codes == "none" else ("order-7", at(201))
    )


def test_a_pool_never_filled_skips_and_tells_the_managers(store, automation):
    MembershipFactory(store=store, user=UserFactory(username="mia"), role="MANAGER")
    email_step(automation, position=1)
    DiscountOffer.objects.create(automation=automation, source="POOL")
    abandon(store)
    assert dispatch_at(after(hours=1)).outcomes == {"AUTOMATION_SKIPPED:NO_CODE_LEFT": 1}
    assert mail.outbox == []
    assert "no discount codes left" in Notification.objects.get().text
