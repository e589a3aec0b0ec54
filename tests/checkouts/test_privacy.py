"""Erasing a buyer: after it, no column of any table holds their address, phone or name."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import connection

from automations.dispatcher import scheduled_steps_dispatch
from automations.models import (
    Automation,
    AutomationStep,
    Notification,
    Reason,
    ScheduledStep,
    SentEmail,
    Task,
    Unsubscribe,
)
from automations.selectors import unsubscribe_find
from automations.services.contact import contact_policy_save
from automations.services.manual import recovery_email_send
from automations.services.records import unsubscribe_create
from checkouts.models import (
    AbandonedCheckout,
    Activity,
    Checkout,
    ErasureRecord,
    Membership,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from checkouts.models.privacy import email_digest
from checkouts.services import (
    abandoned_checkout_click_record,
    abandoned_checkouts_detect,
    checkout_events_ingest,
    store_create,
)
from checkouts.services.privacy import buyer_erase, buyer_erase_preview
from checkouts.webhooks.services import webhook_endpoint_create
from checkouts.webhooks.tasks import webhook_deliveries_dispatch_task
from tests.checkouts.helpers import at, completed_event, updated_event
from tests.checkouts.webhooks.receiver import Receiver, Reply
from tests.factories import AutomationFactory, AutomationStepFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

EMAIL = "Zelda.Quux+erase@Example.org"
PHONE = "+15550139876"
PHONE_DIGITS = "5550139876"
LAST_NAME = "Xylophonova"
CONTACT_ID = "3f0c9d51-erase-contact"
MEMBER_ID = "7a1e44b2-erase-member"
TEXT_TYPES = {"CharField", "TextField", "JSONField", "EmailField", "URLField", "SlugField", "GenericIPAddressField"}


def text_columns() -> list[tuple[str, str]]:
    """(table, column) for every text, varchar and JSON column of every table in the database."""
    introspection = connection.introspection
    columns = []
    with connection.cursor() as cursor:
        for table in introspection.table_names(cursor):
            for info in introspection.get_table_description(cursor, table):
                try:
                    kind = introspection.get_field_type(info.type_code, info)
                except KeyError:
                    continue
                if kind in TEXT_TYPES:
                    columns.append((table, info.name))
    return columns


def occurrences(needle: str) -> list[tuple[str, str, int]]:
    """Every (table, column, rows) whose text holds `needle`, case-insensitively."""
    quote = connection.ops.quote_name
    found = []
    with connection.cursor() as cursor:
        for table, column in text_columns():
            cursor.execute(
                f"SELECT COUNT(*) FROM {quote(table)} WHERE LOWER(CAST({quote(column)} AS TEXT)) LIKE %s",  # noqa: S608
                [f"%{needle.lower()}%"],
            )
            (count,) = cursor.fetchone()
            if count:
                found.append((table, column, count))
    return found


def ingest(store, external_id: str, *, minutes: float = 0, email: str = EMAIL):
    event = updated_event(external_id, minutes=minutes, email=email)
    event["checkout"]["contactDetails"] = {"firstName": "Zelda", "lastName": LAST_NAME, "phone": PHONE}
    event["checkout"]["buyerInfo"].update(contactId=CONTACT_ID, memberId=MEMBER_ID)
    (result,) = checkout_events_ingest(store=store, events=[event])
    assert result.success, result


@pytest.fixture
def echoing_receiver(settings):
    """A webhook receiver that answers with the buyer's address, as a careless one might echo a body."""
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = True
    with Receiver() as receiver:
        receiver.default = Reply(status=200, body=f'{{"received": "{EMAIL}", "phone": "{PHONE}"}}'.encode())
        yield receiver


def build_buyer_everywhere(receiver: Receiver):
    """One buyer, spread over every table the product writes to, through the real services."""
    staff = UserFactory(username="staffer", email="staff@shop.example")
    store = store_create(name="Northwind", storefront_url="https://northwind.example.com", owner=staff)
    # No frequency cap: the buyer is emailed by the automation and then by hand within hours.
    contact_policy_save(store=store, window_hours=0)
    member = Membership.objects.get(store=store, user=staff)
    webhook_endpoint_create(
        store=store,
        url=receiver.url,
        event_types=["created", "updated", "deleted", "recovered"],
        format=WebhookEndpoint.Format.STANDARD,
    )
    automation = Automation.objects.get(store=store)
    AutomationStep.objects.filter(automation=automation).delete()
    minute = {"delay_value": 1, "delay_unit": AutomationStep.Unit.MINUTES}
    AutomationStep.objects.create(automation=automation, position=1, subject="Hi {{ first_name }}", body="x", **minute)
    AutomationStep.objects.create(
        automation=automation, position=2, action="NOTIFY_BUYER", message="{{ first_name }}, come back", **minute
    )
    staff_step = AutomationStep.objects.create(
        automation=automation, position=3, action="NOTIFY_STAFF", message="{{ buyer_name }} left a cart", **minute
    )
    staff_step.notify_members.add(member)
    AutomationStep.objects.create(
        automation=automation, position=4, action="CREATE_TASK", task_title="Call the buyer", **minute
    )
    AutomationStep.objects.create(automation=automation, position=5, delay_value=3, delay_unit="DAYS", body="Later")

    ingest(store, "co-erase-1")  # abandoned, then worked by every step
    ingest(store, "co-erase-2", email=EMAIL.upper())  # the same buyer, another case, abandoned
    with time_machine.travel(at(61), tick=False):
        assert abandoned_checkouts_detect() == 2
    ingest(store, "co-erase-3", minutes=62)  # still open: never abandoned
    ingest(store, "co-erase-4", minutes=62)
    checkout_events_ingest(store=store, events=[completed_event("co-erase-4", minutes=63, order_id="order-9")])
    with time_machine.travel(at(63), tick=False):
        scheduled_steps_dispatch()
        webhook_deliveries_dispatch_task()
    first = AbandonedCheckout.objects.get(checkout_external_id="co-erase-1")
    abandoned_checkout_click_record(abandoned_checkout_id=first.pk, store_id=store.pk)
    with time_machine.travel(at(240), tick=False):  # past the guard against a second email within the hour
        sent = recovery_email_send(store=store, abandoned_checkout_id=first.pk, user=staff)
    assert sent.sent_email is not None
    unsubscribe_create(store_id=store.pk, email=EMAIL, source=Unsubscribe.Source.LINK)
    LogEntry.objects.log_actions(
        user_id=staff.pk, queryset=AbandonedCheckout.objects.filter(pk=first.pk), action_flag=CHANGE
    )
    return store, staff


def test_erasing_a_buyer_leaves_no_trace_of_them_in_any_column_of_any_table(echoing_receiver):
    store, staff = build_buyer_everywhere(echoing_receiver)
    # The scenario really put the buyer everywhere the scan looks.
    before = {table for table, _, _ in occurrences(EMAIL)} | {table for table, _, _ in occurrences(PHONE_DIGITS)}
    for model in (Checkout, AbandonedCheckout, WebhookEvent, WebhookDelivery, SentEmail, Unsubscribe, LogEntry):
        assert model._meta.db_table in before, model
    assert {table for table, _, _ in occurrences(CONTACT_ID)} >= {Checkout._meta.db_table, WebhookEvent._meta.db_table}
    assert Notification.objects.exists() and Task.objects.exists()
    assert ScheduledStep.objects.filter(state=ScheduledStep.State.PENDING).count() == 2

    record = buyer_erase(store=store, email="  zelda.quux+ERASE@example.org ", actor=staff)

    assert occurrences(EMAIL) == []
    assert occurrences(PHONE_DIGITS) == []
    assert occurrences(LAST_NAME) == []
    # The storefront's ids for the buyer are personal data too (pseudonymous, not anonymous).
    assert occurrences(CONTACT_ID) == []
    assert occurrences(MEMBER_ID) == []
    assert record.counts["abandonedCheckouts"] == 2
    assert record.counts["checkouts"] == 4
    assert record.counts["scheduledStepsCancelled"] == 2
    assert record.counts["sentEmails"] >= 3 and record.counts["unsubscribes"] == 1
    assert record.email_hash == email_digest(EMAIL) and record.actor == staff


def test_erased_buyer_stays_unsubscribed_by_the_hash_alone(store):
    unsubscribe_create(store_id=store.pk, email=EMAIL, source=Unsubscribe.Source.LINK)
    buyer_erase(store=store, email=EMAIL)
    row = Unsubscribe.objects.get()
    assert row.email == "" and row.email_hash == email_digest(EMAIL)
    assert unsubscribe_find(store_id=store.pk, email=EMAIL.upper()) == row
    # A second unsubscribe of the same address finds the erased row instead of adding one.
    assert unsubscribe_create(store_id=store.pk, email=EMAIL, source=Unsubscribe.Source.LINK) == (row, False)


def test_another_stores_buyer_with_the_same_address_is_untouched(store, other_store):
    ingest(store, "co-1")
    ingest(other_store, "co-1")
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    unsubscribe_create(store_id=other_store.pk, email=EMAIL, source=Unsubscribe.Source.LINK)
    other_events = {e.pk: e.payload for e in WebhookEvent.objects.filter(store=other_store)}

    record = buyer_erase(store=store, email=EMAIL)

    assert record.counts["abandonedCheckouts"] == 1
    kept = AbandonedCheckout.objects.get(store=other_store)
    assert (kept.buyer_email, kept.phone, kept.last_name) == (EMAIL, PHONE, LAST_NAME)
    assert Checkout.objects.get(store=other_store).buyer_email == EMAIL
    assert Unsubscribe.objects.get(store=other_store).email == EMAIL.lower()
    assert {e.pk: e.payload for e in WebhookEvent.objects.filter(store=other_store)} == other_events
    assert AbandonedCheckout.objects.get(store=store).buyer_email == ""
    assert not ErasureRecord.objects.filter(store=other_store).exists()


def test_only_the_named_buyer_is_erased_in_the_store(store):
    ingest(store, "co-1")
    ingest(store, "co-2", email="someone.else@example.org")
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    buyer_erase(store=store, email=EMAIL)
    assert AbandonedCheckout.objects.get(checkout_external_id="co-2").buyer_email == "someone.else@example.org"


def test_pending_steps_are_cancelled_with_the_erasure_reason(store):
    automation = AutomationFactory(store=store)
    AutomationStepFactory(automation=automation, position=1)
    AutomationStepFactory(automation=automation, position=2, delay_value=2)
    ingest(store, "co-1")
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    ac = AbandonedCheckout.objects.get()
    assert ScheduledStep.objects.filter(abandoned_checkout=ac, state=ScheduledStep.State.PENDING).exists()

    record = buyer_erase(store=store, email=EMAIL)

    steps = ScheduledStep.objects.filter(abandoned_checkout=ac)
    assert steps.exists()
    assert set(steps.values_list("state", "reason")) == {(ScheduledStep.State.CANCELLED, Reason.BUYER_ERASED)}
    assert record.counts["scheduledStepsCancelled"] == steps.count()
    assert Activity.objects.filter(abandoned_checkout=ac, reason=Reason.BUYER_ERASED).count() == steps.count()


def test_the_record_holds_counts_and_a_keyed_hash_never_the_address(store):
    ingest(store, "co-1")
    record = buyer_erase(store=store, email=EMAIL)
    assert record.counts == {"checkouts": 1}
    assert EMAIL.lower() not in str(record.__dict__).lower()
    assert record.email_hash == email_digest(EMAIL.upper()) != email_digest("other@example.org")
    assert len(record.email_hash) == 64


def test_the_hash_is_keyed_by_the_secret_key(settings):
    first = email_digest(EMAIL)
    settings.SECRET_KEY = "another-secret-key"
    assert email_digest(EMAIL) != first


def test_erasing_an_unknown_address_records_an_empty_erasure(store):
    record = buyer_erase(store=store, email="nobody@example.org")
    assert record.counts == {} and ErasureRecord.objects.filter(store=store).count() == 1


def test_preview_counts_what_an_erasure_would_touch_and_changes_nothing(store):
    ingest(store, "co-1")
    ingest(store, "co-2")
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    ingest(store, "co-3", minutes=62)
    assert buyer_erase_preview(store=store, email=EMAIL.upper()) == {"checkouts": 3, "abandonedCheckouts": 2}
    assert Checkout.objects.filter(buyer_email=EMAIL).count() == 3


def test_an_open_checkout_of_an_erased_buyer_is_never_abandoned(store):
    ingest(store, "co-1")
    buyer_erase(store=store, email=EMAIL)
    with time_machine.travel(at(61) + timedelta(days=1), tick=False):
        assert abandoned_checkouts_detect() == 0


def test_a_large_erasure_goes_through_in_batches(store, monkeypatch):
    from checkouts.services import privacy

    monkeypatch.setattr(privacy, "ERASE_BATCH", 3)
    for index in range(7):
        ingest(store, f"co-{index}")
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    record = buyer_erase(store=store, email=EMAIL)
    assert record.counts["abandonedCheckouts"] == 7 and record.counts["checkouts"] == 7
    assert not AbandonedCheckout.objects.exclude(buyer_email="").exists()


def test_the_owner_and_manager_are_recorded_by_name(store):
    user = MembershipFactory(store=store, user=UserFactory(username="mgr"), role=Membership.Role.MANAGER).user
    record = buyer_erase(store=store, email=EMAIL, actor=user)
    assert (record.actor, record.actor_label) == (user, "mgr")


def test_the_record_lists_its_counts_with_labels_in_a_fixed_order(store):
    record = ErasureRecord(store=store, counts={"tasks": 1, "checkouts": 2, "abandonedCheckouts": 3, "new": 4})
    assert record.labelled_counts() == [("Abandoned checkouts", 3), ("Checkouts", 2), ("Tasks", 1), ("new", 4)]
    assert record.total == 10


def test_an_unsubscribe_hashed_before_a_key_rotation_still_counts(store, settings):
    unsubscribe_create(store_id=store.pk, email=EMAIL, source=Unsubscribe.Source.LINK)
    buyer_erase(store=store, email=EMAIL)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "the-new-secret-key", [old_key]
    assert unsubscribe_find(store_id=store.pk, email=EMAIL) is not None
    settings.SECRET_KEY_FALLBACKS = []
    assert unsubscribe_find(store_id=store.pk, email=EMAIL) is None


def test_the_anonymise_button_uses_the_same_path_and_cleans_the_admin_log(store, owner):
    from checkouts.services import abandoned_checkout_anonymise

    ingest(store, "co-1")
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    ac = AbandonedCheckout.objects.get()
    LogEntry.objects.log_actions(user_id=owner.pk, queryset=AbandonedCheckout.objects.all(), action_flag=CHANGE)
    assert EMAIL in LogEntry.objects.get().object_repr
    assert abandoned_checkout_anonymise(abandoned_checkout_id=ac.pk, store=store)
    assert LogEntry.objects.get().object_repr == "(erased)"
    assert occurrences(EMAIL) == []


def test_anonymising_a_checkout_keeps_only_the_hash_of_its_buyers_unsubscribe(store, other_store):
    from checkouts.services import abandoned_checkout_anonymise

    ingest(store, "co-1")
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    unsubscribe_create(store_id=store.pk, email=EMAIL, source=Unsubscribe.Source.LINK)
    unsubscribe_create(store_id=other_store.pk, email=EMAIL, source=Unsubscribe.Source.LINK)

    assert abandoned_checkout_anonymise(abandoned_checkout_id=AbandonedCheckout.objects.get().pk, store=store)

    row = Unsubscribe.objects.get(store=store)
    assert row.email == "" and row.email_hash == email_digest(EMAIL)
    assert unsubscribe_find(store_id=store.pk, email=EMAIL) == row  # still unsubscribed
    assert Unsubscribe.objects.get(store=other_store).email == EMAIL.lower()  # another store's is its own
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT email FROM {Unsubscribe._meta.db_table} WHERE id = %s", [row.pk])  # noqa: S608
        assert cursor.fetchall() == [("",)]


def test_anonymising_a_checkout_drops_its_recovery_link_visitors(store):
    from checkouts.models import RecoveryLinkVisit
    from checkouts.services import abandoned_checkout_anonymise
    from checkouts.services.clicks import recovery_link_click_record

    ingest(store, "co-1")
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    ac = AbandonedCheckout.objects.get()
    assert recovery_link_click_record(abandoned_checkout_id=ac.pk, store_id=store.pk, visitor="a" * 64)
    assert abandoned_checkout_anonymise(abandoned_checkout_id=ac.pk, store=store)
    assert not RecoveryLinkVisit.objects.exists()  # hashes of the buyer's address and browser go too
    assert AbandonedCheckout.objects.get().link_clicks == 1  # the figure stays
