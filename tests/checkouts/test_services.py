"""The checkout lifecycle: ingest → abandoned → recovered, deleted, anonymised."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from checkouts import hooks
from checkouts.api.views.ingest import http_status
from checkouts.migration_operations import supports_compression
from checkouts.models import AbandonedCheckout, Activity, Checkout, IngestedEvent, Store, WebhookEvent
from checkouts.selectors import activities_latest
from checkouts.services import (
    ActivityEntry,
    IngestOutcome,
    abandoned_checkout_anonymise,
    abandoned_checkout_delete,
    abandoned_checkout_recover,
    abandoned_checkouts_detect,
    activities_insert,
    activity_record,
    checkout_events_ingest,
    store_update,
)
from checkouts.wix import abandoned_checkout_to_wix
from tests.checkouts.helpers import at, completed_event, updated_event

pytestmark = pytest.mark.django_db


def ingest(store, *events):
    return checkout_events_ingest(store=store, events=list(events))


def test_an_update_creates_the_checkout_in_wix_vocabulary(store):
    [result] = ingest(store, updated_event("co-1", email="Ada@Example.com", total="120.50"))
    assert result.success and result.outcome == IngestOutcome.APPLIED
    checkout = Checkout.objects.get(store=store, external_id="co-1")
    assert checkout.buyer_email == "Ada@Example.com" and checkout.email_key == "ada@example.com"
    assert checkout.total == Decimal("120.50") and checkout.currency == "USD"
    assert checkout.line_items[0]["price"]["formattedAmount"] == "$120.50"
    assert checkout.abandon_due_at == at(0) + store.abandon_after


def test_the_buyers_country_and_time_zone_are_kept_when_the_storefront_sends_them(store):
    event = updated_event("co-1")
    event["checkout"].update(buyerCountry="fr", buyerTimeZone="Europe/Paris")
    assert all(result.success for result in ingest(store, event, updated_event("co-2")))
    checkout = Checkout.objects.get(store=store, external_id="co-1")
    assert (checkout.buyer_country, checkout.buyer_time_zone) == ("FR", "Europe/Paris")
    silent = Checkout.objects.get(store=store, external_id="co-2")
    assert (silent.buyer_country, silent.buyer_time_zone) == ("", "")
    too_long = updated_event("co-3")
    too_long["checkout"]["buyerCountry"] = "FRA"  # ISO alpha-2 only
    [refused] = ingest(store, too_long)
    assert not refused.success and [v["field"] for v in refused.violations] == ["checkout.buyerCountry"]


def test_an_older_snapshot_never_overwrites_a_newer_one(store):
    ingest(store, updated_event("co-1", minutes=10, total="200"))
    [result] = ingest(store, updated_event("co-1", minutes=5, total="100"))
    assert result.outcome == IngestOutcome.STALE
    checkout = Checkout.objects.get()
    assert checkout.total == Decimal(200) and checkout.last_activity_at == at(10)


def test_a_completed_checkout_never_reopens(store):
    ingest(store, updated_event("co-1", minutes=0), completed_event("co-1", minutes=5))
    [result] = ingest(store, updated_event("co-1", minutes=10, total="999"))
    assert result.outcome == IngestOutcome.ALREADY_COMPLETED
    checkout = Checkout.objects.get()
    assert checkout.completed_at == at(5) and checkout.abandon_due_at is None and checkout.total != Decimal(999)


def test_completion_before_any_update_still_blocks_a_late_update(store):
    ingest(store, completed_event("co-1", minutes=5))
    [result] = ingest(store, updated_event("co-1", minutes=1))
    assert result.outcome == IngestOutcome.ALREADY_COMPLETED
    assert Checkout.objects.get().abandon_due_at is None


def test_replaying_an_event_answers_the_first_outcome_without_reapplying(store):
    event = updated_event("co-1")
    first, again = ingest(store, event, event)
    assert (first.success, first.outcome) == (again.success, again.outcome) == (True, IngestOutcome.APPLIED)
    assert IngestedEvent.objects.count() == 1


def test_the_same_event_id_with_a_different_body_is_refused(store):
    event = updated_event("co-1", event_id="evt-1")
    ingest(store, event)
    [result] = ingest(store, updated_event("co-1", event_id="evt-1", total="5"))
    assert not result.success and http_status(result) == 422
    assert result.error_code == "EVENT_ID_REUSED" and result.violations[0]["field"] == "eventId"


def test_event_ids_are_per_store(store, other_store):
    event = updated_event("co-1", event_id="evt-1")
    assert ingest(store, event)[0].success and ingest(other_store, event)[0].success
    assert Checkout.objects.count() == 2


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("eventId"), "eventId"),
        (lambda e: e["checkout"].pop("id"), "checkout.id"),
        (lambda e: e.update(occurredAt="yesterday"), "occurredAt"),
        (lambda e: e.update(type="checkout.exploded"), "type"),
        (lambda e: e["checkout"].update(currency="XYZ"), "checkout.currency"),
        (lambda e: e["checkout"]["lineItems"][0].update(quantity=-1), "checkout.lineItems[0].quantity"),
        (lambda e: e["checkout"]["lineItems"][0].update(quantity="two"), "checkout.lineItems[0].quantity"),
        (lambda e: e["checkout"]["totalPrice"].update(amount="-5"), "checkout.totalPrice.amount"),
        (lambda e: e["checkout"]["totalPrice"].update(amount="1e16"), "checkout.totalPrice.amount"),
        (lambda e: e["checkout"]["buyerInfo"].update(email="not-an-email"), "checkout.buyerInfo.email"),
        (lambda e: e["checkout"]["contactDetails"].update(firstName="x" * 101), "checkout.contactDetails.firstName"),
        (lambda e: e["checkout"].update(lineItems=e["checkout"]["lineItems"] * 301), "checkout.lineItems"),
        (lambda e: e.update(checkout="co-1"), "checkout"),
    ],
)
def test_each_bad_item_names_its_field_and_the_good_ones_still_land(store, mutate, field):
    bad = updated_event("co-bad")
    mutate(bad)
    good = updated_event("co-good")
    results = ingest(store, bad, good)
    assert not results[0].success and http_status(results[0]) == 400
    assert field in [violation["field"] for violation in results[0].violations]
    assert results[1].success
    assert list(Checkout.objects.values_list("external_id", flat=True)) == ["co-good"]
    assert IngestedEvent.objects.count() == 1


def test_a_non_object_item_is_an_error_of_its_own(store):
    results = ingest(store, "hello", updated_event("co-1"))
    assert [r.success for r in results] == [False, True]
    assert results[0].violations[0]["field"] == "events[0]"


def test_the_sweep_abandons_idle_reachable_checkouts_once(store):
    ingest(
        store,
        updated_event("idle", minutes=0),
        updated_event("fresh", minutes=50),
        updated_event("no-contact", minutes=0, email=""),
    )
    Checkout.objects.filter(external_id="no-contact").update(visitor_id="v")
    with time_machine.travel(at(61), tick=False):
        assert abandoned_checkouts_detect() == 1
        assert abandoned_checkouts_detect() == 0
    ac = AbandonedCheckout.objects.get()
    assert ac.checkout.external_id == "idle" and ac.status == AbandonedCheckout.Status.ABANDONED
    assert ac.created_at == at(61) and ac.buyer_email == "ada@example.com"
    assert ac.line_items == ac.checkout.line_items
    [event] = WebhookEvent.objects.all()
    assert (event.type, event.sequence, event.entity_id) == ("created", 1, ac.id)
    entity = event.payload["createdEvent"]["entity"]
    assert entity["id"] == str(ac.id) and entity["status"] == "ABANDONED"
    assert event.payload["entityEventSequence"] == "1" and event.payload["slug"] == "created"


def test_a_member_without_email_is_reachable(store):
    ingest(store, updated_event("member", email="", buyerInfo={"memberId": "m-1"}))
    with time_machine.travel(at(61), tick=False):
        assert abandoned_checkouts_detect() == 1


def test_the_sweep_honours_each_stores_abandon_after_and_batches(store, other_store):
    store_update(store=other_store, abandon_after=timedelta(minutes=120))
    for index in range(7):
        ingest(store, updated_event(f"a{index}"))
        ingest(other_store, updated_event(f"b{index}"))
    with time_machine.travel(at(61), tick=False):
        assert abandoned_checkouts_detect(batch_size=3) == 7
    with time_machine.travel(at(121), tick=False):
        assert abandoned_checkouts_detect(batch_size=3) == 7
    assert AbandonedCheckout.objects.filter(store=other_store).count() == 7


def test_changing_abandon_after_retimes_open_checkouts(store):
    ingest(store, updated_event("co-1"))
    store_update(store=store, abandon_after=timedelta(minutes=15))
    assert Checkout.objects.get().abandon_due_at == at(15)


def test_the_sweep_tells_other_apps_inside_its_transaction(store):
    seen = []

    def receiver(sender, abandoned_checkouts, **kwargs):
        seen.extend(ac.pk for ac in abandoned_checkouts)
        raise RuntimeError("automation failed")

    ingest(store, updated_event("co-1"))
    hooks.abandoned_checkouts_created.connect(receiver)
    try:
        with time_machine.travel(at(61), tick=False), pytest.raises(RuntimeError):
            abandoned_checkouts_detect()
    finally:
        hooks.abandoned_checkouts_created.disconnect(receiver)
    assert len(seen) == 1
    # The failure rolled the whole batch back: the checkout is still due, nothing half-written.
    assert not AbandonedCheckout.objects.exists() and not WebhookEvent.objects.exists()
    assert Checkout.objects.get().abandon_due_at is not None


def test_a_sweep_receiver_returns_its_activities_and_the_row_and_its_event_carry_them(store):
    def receiver(sender, abandoned_checkouts, **kwargs):
        # The rows are not written yet: the receiver writes its own and hands them back.
        assert not AbandonedCheckout.objects.filter(pk__in=[ac.pk for ac in abandoned_checkouts]).exists()
        return activities_insert(
            [ActivityEntry(abandoned_checkout=ac, type=Activity.Type.EMAIL_SENT) for ac in abandoned_checkouts]
        )

    ingest(store, updated_event("co-1", total="42.50"))
    hooks.abandoned_checkouts_created.connect(receiver)
    try:
        with time_machine.travel(at(61), tick=False):
            assert abandoned_checkouts_detect() == 1
    finally:
        hooks.abandoned_checkouts_created.disconnect(receiver)
    ac = AbandonedCheckout.objects.select_related("store").get()
    assert (ac.last_activity_type, ac.last_activity_at) == ("EMAIL_SENT", at(61))
    [event] = WebhookEvent.objects.all()
    # The row as written (INSERT … SELECT on PostgreSQL) renders exactly as its `created` event announced it.
    assert event.payload["createdEvent"]["entity"] == abandoned_checkout_to_wix(
        ac, activities_latest(abandoned_checkout_id=ac.pk)
    )
    assert [a["type"] for a in event.payload["createdEvent"]["entity"]["activities"]][-1] == "EMAIL_SENT"


@pytest.fixture
def abandoned(store):
    ingest(store, updated_event("co-1"))
    with time_machine.travel(at(61), tick=False):
        abandoned_checkouts_detect()
    return AbandonedCheckout.objects.get()


def test_an_update_after_abandonment_refreshes_the_snapshot(store, abandoned):
    ingest(store, updated_event("co-1", minutes=70, total="80"))
    abandoned.refresh_from_db()
    assert abandoned.total == Decimal(80) and abandoned.status == AbandonedCheckout.Status.ABANDONED
    event = WebhookEvent.objects.get(type="updated")
    assert event.sequence == 2 and event.payload["updatedEvent"]["currentEntity"]["totalPrice"]["amount"] == "80"


def test_completion_recovers_and_writes_recovered_then_updated(store, abandoned):
    with time_machine.travel(at(90), tick=False):
        [result] = ingest(store, completed_event("co-1", minutes=85, order_id="o-9"))
    assert result.outcome == IngestOutcome.COMPLETED and result.recovered == [str(abandoned.pk)]
    abandoned.refresh_from_db()
    assert abandoned.status == AbandonedCheckout.Status.RECOVERED
    assert abandoned.checkout_recovered_at == at(85) and abandoned.recovered_order_id == "o-9"
    events = list(WebhookEvent.objects.order_by("sequence").values_list("type", "sequence"))
    assert events == [("created", 1), ("recovered", 2), ("updated", 3)]
    recovered = WebhookEvent.objects.get(type="recovered").payload
    assert recovered["actionEvent"]["body"]["abandonedCheckout"]["checkoutRecoveredDate"] == "2026-11-28T11:25:00.000Z"


def test_recovery_has_exactly_one_winner(abandoned):
    assert abandoned_checkout_recover(abandoned_checkout_id=abandoned.pk) is True
    assert abandoned_checkout_recover(abandoned_checkout_id=abandoned.pk) is False
    assert WebhookEvent.objects.filter(type="recovered").count() == 1


def test_any_order_rule_recovers_by_email_within_the_window(store, abandoned):
    store_update(store=store, recovery_rule=Store.RecoveryRule.ANY_ORDER_WITHIN_DAYS, recovery_window_days=2)
    with time_machine.travel(at(2000), tick=False):
        completion = completed_event("another-checkout", minutes=2000)
        completion["checkout"]["buyerInfo"] = {"email": "ADA@example.com"}
        ingest(store, completion)
    abandoned.refresh_from_db()
    assert abandoned.status == AbandonedCheckout.Status.RECOVERED


def test_any_order_rule_ignores_orders_outside_the_window(store, abandoned):
    store_update(store=store, recovery_rule=Store.RecoveryRule.ANY_ORDER_WITHIN_DAYS, recovery_window_days=1)
    completion = completed_event("another-checkout", minutes=3 * 1440)
    completion["checkout"]["buyerInfo"] = {"email": "ada@example.com"}
    ingest(store, completion)
    abandoned.refresh_from_db()
    assert abandoned.status == AbandonedCheckout.Status.ABANDONED


def test_same_checkout_rule_ignores_other_orders(store, abandoned):
    completion = completed_event("another-checkout")
    completion["checkout"]["buyerInfo"] = {"email": "ada@example.com"}
    ingest(store, completion)
    abandoned.refresh_from_db()
    assert abandoned.status == AbandonedCheckout.Status.ABANDONED


def test_an_activity_bumps_the_sequence_and_writes_an_updated_event(abandoned):
    activity_record(abandoned_checkout_id=abandoned.pk, type=Activity.Type.EMAIL_SENT)
    abandoned.refresh_from_db()
    assert abandoned.last_activity_type == "EMAIL_SENT" and abandoned.event_sequence == 2
    entity = WebhookEvent.objects.get(type="updated").payload["updatedEvent"]["currentEntity"]
    assert [a["type"] for a in entity["activities"]] == ["EMAIL_SENT"]


def test_delete_writes_the_deleted_event_and_the_checkout_stays_abandoned(abandoned, store, other_store):
    assert abandoned_checkout_delete(abandoned_checkout_id=abandoned.pk, store=other_store) is False
    assert abandoned_checkout_delete(abandoned_checkout_id=abandoned.pk, store=store) is True
    assert not AbandonedCheckout.objects.exists()
    event = WebhookEvent.objects.get(type="deleted")
    assert event.sequence == 2 and event.payload["deletedEvent"]["deletedEntity"]["id"] == str(abandoned.pk)
    with time_machine.travel(at(500), tick=False):
        assert abandoned_checkouts_detect() == 0
    assert abandoned_checkout_delete(abandoned_checkout_id=abandoned.pk, store=None) is False


def test_the_destructive_services_need_the_store_named(abandoned):
    # Forgetting the store must fail loudly, not act on every store's rows.
    with pytest.raises(TypeError, match="store"):
        abandoned_checkout_delete(abandoned_checkout_id=abandoned.pk)
    with pytest.raises(TypeError, match="store"):
        abandoned_checkout_anonymise(abandoned_checkout_id=abandoned.pk)
    assert AbandonedCheckout.objects.get().buyer_email


def test_anonymise_removes_the_buyer_everywhere(abandoned):
    activity_record(abandoned_checkout_id=abandoned.pk, type="EMAIL_SENT", detail={"to": "ada@example.com"})
    assert abandoned_checkout_anonymise(abandoned_checkout_id=abandoned.pk, store=abandoned.store)
    abandoned.refresh_from_db()
    assert (abandoned.buyer_email, abandoned.first_name, abandoned.phone) == ("", "", "")
    checkout = Checkout.objects.get()
    assert (checkout.buyer_email, checkout.last_name) == ("", "")
    assert Activity.objects.get().detail == {}
    for event in WebhookEvent.objects.all():
        text = str(event.payload).lower()
        assert "ada@example.com" not in text and "lovelace" not in text and "5555550100" not in text
    assert WebhookEvent.objects.filter(payload__triggeredByAnonymizeRequest=True).count() == 1


@pytest.mark.postgres
def test_large_values_are_written_lz4_compressed(store):
    """Migration checkouts.0008: pglz would cost the sweep its CPU on every payload."""
    if not supports_compression(connection, "lz4"):
        pytest.skip("this PostgreSQL is built without LZ4: the migrations keep pglz")
    line_items = [dict(updated_event("big")["checkout"]["lineItems"][0], id=f"li-{n}") for n in range(12)]
    ingest(store, updated_event("big", minutes=0, lineItems=line_items))
    with time_machine.travel(at(61), tick=False):
        assert abandoned_checkouts_detect() == 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_compression(payload), pg_column_size(payload) < octet_length(payload::text)"
            " FROM checkouts_webhookevent"
        )
        assert cursor.fetchall() == [("lz4", True)]
        cursor.execute("SELECT pg_column_compression(line_items) FROM checkouts_abandonedcheckout")
        assert cursor.fetchall() == [("lz4",)]
