"""Pages spliced from each row's stored Wix JSON are byte for byte the pages built in Python."""

import json
from datetime import timedelta
from decimal import Decimal

import orjson
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Activity, WebhookEvent
from checkouts.selectors import abandoned_checkouts_with_activities
from checkouts.services import (
    ActivityEntry,
    abandoned_checkout_anonymise,
    abandoned_checkout_recover,
    abandoned_checkout_refresh,
    activities_record_locked,
    activity_record,
)
from checkouts.services.wire import abandoned_checkouts_wire_refresh, abandoned_checkouts_wire_store
from checkouts.tasks import abandoned_checkouts_wire_fill_task
from checkouts.wire import wire_current, wire_entity_logged
from checkouts.wix import abandoned_checkout_to_wix
from tests.factories import AbandonedCheckoutFactory, ActivityFactory, CheckoutFactory

BASE = "/ecom/v1/abandoned-checkout"
QUERY = f"{BASE}/query"
SEARCH = f"{BASE}/search"


def every_kind(store) -> list[AbandonedCheckout]:
    """Rows between them setting, and leaving out, every field the entity has."""
    now = timezone.now()
    full = AbandonedCheckoutFactory(
        store=store,
        cart_id="cart-1",
        buyer_language="de",
        contact_id="c-1",
        member_id="m-1",
        phone="+49 30 1234567",
        company="Zoë & Søn\u2028GmbH",  # a line separator: JSON allows it raw, as orjson writes it
        vat_id="DE123",
        currency="EUR",
        conversion_currency="USD",
        subtotal=Decimal("1234567.8900"),
        total=Decimal("1234.5000"),
        subtotal_converted=Decimal("1400.1"),
        total_converted=Decimal("1300"),
        line_items=[{"quantity": 2, "productName": {"original": "Crème brûlée 🍮"}, "price": {"amount": "9.5"}}],
        applied_discounts=[{"coupon": {"code": "SAVE10", "amount": {"amount": "10"}}}],
        status=AbandonedCheckout.Status.RECOVERED,
        checkout_recovered_at=now - timedelta(minutes=5),
        recovered_order_id="order-9",
    )
    bare = AbandonedCheckoutFactory(
        store=store, checkout_external_id="", buyer_email="", first_name="", last_name="", visitor_id="v-1"
    )
    busy = AbandonedCheckoutFactory(store=store, user_id="u-1", member_id="m-2")
    for minutes in range(25):
        ActivityFactory(
            abandoned_checkout=busy, type=Activity.Type.EMAIL_SENT, created_at=now - timedelta(minutes=minutes)
        )
    ActivityFactory(abandoned_checkout=full, type=Activity.Type.TASK_CREATED)
    return [full, bare, busy]


def built(ids) -> dict:
    rows = abandoned_checkouts_with_activities(AbandonedCheckout.objects.filter(pk__in=ids))
    return {str(ac.pk): orjson.dumps(abandoned_checkout_to_wix(ac)) for ac in rows}


def entities_bytes(content: bytes, key: str) -> dict:
    """Each entity's bytes as they appear in the body (re-encoded from the parse, compactly)."""
    return {entity["id"]: orjson.dumps(entity) for entity in orjson.loads(content)[key]}


@pytest.mark.parametrize("language", ["en", "de-DE"])
def test_a_spliced_page_is_the_page_built_in_python(api, store, language):
    store.language = language
    store.save()
    rows = every_kind(store)
    ids = [row.pk for row in rows]
    before = {
        path: api.post(path, {key: {"cursorPaging": {"limit": 10}}}).content
        for path, key in ((QUERY, "query"), (SEARCH, "search"))
    }
    assert abandoned_checkouts_wire_refresh(ids) == 3
    assert AbandonedCheckout.objects.filter(pk__in=ids, wire__isnull=True).count() == 0
    for path, key in ((QUERY, "query"), (SEARCH, "search")):
        after = api.post(path, {key: {"cursorPaging": {"limit": 10}}}).content
        # Cursors are signed with a timestamp: compare everything but them.
        assert strip_cursors(after) == strip_cursors(before[path])
    page = api.post(QUERY, {"query": {"cursorPaging": {"limit": 10}}}).content
    assert entities_bytes(page, "abandonedCheckouts") == built(ids)
    # Raw, not re-encoded: the body holds each entity's bytes exactly as Python builds them.
    for entity in built(ids).values():
        assert entity in page
    for row in rows:
        single = api.get(f"{BASE}/{row.pk}").content
        assert single == b'{"abandonedCheckout":' + built([row.pk])[str(row.pk)] + b"}"


def strip_cursors(content: bytes) -> bytes:
    body = json.loads(content)
    for key in ("metadata", "pagingMetadata"):
        if key in body:
            body[key]["cursors"] = None
    return orjson.dumps(body)


def test_a_row_changed_after_its_json_was_stored_is_built_again(api, store):
    ac = AbandonedCheckoutFactory(store=store)
    abandoned_checkouts_wire_refresh([ac.pk])
    # A writer that forgets the refresh: its new updatedDate tells the reader the JSON is stale.
    AbandonedCheckout.objects.filter(pk=ac.pk).update(first_name="Ada", updated_at=timezone.now())
    entity = api.get(f"{BASE}/{ac.pk}").json()["abandonedCheckout"]
    assert entity["contactDetails"]["firstName"] == "Ada"
    page = api.post(QUERY, {"query": {}}).json()["abandonedCheckouts"]
    assert page[0]["contactDetails"]["firstName"] == "Ada"


def test_an_activity_or_a_new_store_language_makes_the_json_stale(api, store):
    ac = AbandonedCheckoutFactory(store=store, total=Decimal("1234.5"))
    abandoned_checkouts_wire_refresh([ac.pk])
    assert api.get(f"{BASE}/{ac.pk}").json()["abandonedCheckout"]["totalPrice"]["formattedAmount"] == "$1,234.50"
    store.language = "de"
    store.save()
    assert api.get(f"{BASE}/{ac.pk}").json()["abandonedCheckout"]["totalPrice"]["formattedAmount"] == "1.234,50\xa0$"
    activity_record(abandoned_checkout_id=ac.pk, type=Activity.Type.EMAIL_SENT)
    activities = api.post(QUERY, {"query": {}}).json()["abandonedCheckouts"][0]["activities"]
    assert [a["type"] for a in activities] == ["EMAIL_SENT"]


def test_a_save_drops_the_stored_json(store):
    ac = AbandonedCheckoutFactory(store=store)
    abandoned_checkouts_wire_refresh([ac.pk])
    ac.refresh_from_db()
    assert ac.wire is not None
    ac.first_name = "Ada"  # an admin edit: updatedDate and the event sequence stay
    ac.save()
    assert AbandonedCheckout.objects.get(pk=ac.pk).wire is None
    abandoned_checkouts_wire_refresh([ac.pk])
    ac.refresh_from_db()
    ac.save(update_fields=["first_name"])
    assert AbandonedCheckout.objects.values_list("wire", "wire_stamp").get(pk=ac.pk) == (None, "")


def test_the_fill_command_stores_missing_and_stale_json(store, other_store):
    rows = [AbandonedCheckoutFactory(store=s) for s in (store, store, other_store)]
    abandoned_checkouts_wire_refresh([rows[0].pk])
    AbandonedCheckout.objects.filter(pk=rows[0].pk).update(updated_at=timezone.now())
    call_command("wire_refresh", "--no-progress")
    expected = built([row.pk for row in rows])
    stored = dict(AbandonedCheckout.objects.values_list("pk", "wire"))
    assert {str(pk): wire.encode() for pk, wire in stored.items()} == expected


def stored_is_current(ac: AbandonedCheckout) -> bool:
    """The row's stored JSON is what the API would build for it now, and its stamp says so."""
    row = AbandonedCheckout.objects.select_related("store").get(pk=ac.pk)
    return wire_current(row, store=row.store) and row.wire.encode() == built([ac.pk])[str(ac.pk)]


def test_the_writes_that_change_an_entity_store_or_drop_its_json(store):
    ac = AbandonedCheckoutFactory(store=store)
    abandoned_checkouts_wire_refresh([ac.pk])
    # Activities and recovery drop it in their own UPDATE (a second one could deadlock against
    # an ingest); the periodic fill stores it again.
    activity_record(abandoned_checkout_id=ac.pk, type=Activity.Type.EMAIL_SENT)
    assert AbandonedCheckout.objects.get(pk=ac.pk).wire is None
    assert abandoned_checkouts_wire_fill_task() == 1
    assert stored_is_current(ac)
    locked = AbandonedCheckout.objects.select_related("store").get(pk=ac.pk)
    activities_record_locked([ActivityEntry(abandoned_checkout=locked, type=Activity.Type.TASK_CREATED)])
    assert AbandonedCheckout.objects.get(pk=ac.pk).wire is None
    assert abandoned_checkouts_wire_fill_task() == 1
    assert abandoned_checkout_recover(abandoned_checkout_id=ac.pk, order_id="order-1")
    assert AbandonedCheckout.objects.get(pk=ac.pk).wire is None
    assert abandoned_checkouts_wire_fill_task() == 1
    assert stored_is_current(ac)
    # Anonymise stores the entity it builds for its event.
    abandoned_checkout_anonymise(abandoned_checkout_id=ac.pk, store=store)
    assert stored_is_current(ac)
    assert ac.buyer_email not in AbandonedCheckout.objects.get(pk=ac.pk).wire


def test_a_refreshed_checkout_stores_its_json(store):
    checkout = CheckoutFactory(store=store)
    ac = AbandonedCheckoutFactory(store=store, checkout=checkout)
    checkout.first_name = "Ada"
    checkout.save()
    assert abandoned_checkout_refresh(checkout=checkout)
    assert stored_is_current(ac)
    assert '"firstName":"Ada"' in AbandonedCheckout.objects.get(pk=ac.pk).wire


@pytest.mark.postgres
def test_a_fill_that_read_a_row_before_a_writer_leaves_the_writers_json(store):
    checkout = CheckoutFactory(store=store)
    ac = AbandonedCheckoutFactory(store=store, checkout=checkout)
    read_early = AbandonedCheckout.objects.select_related("store").get(pk=ac.pk)
    read_early.latest_activities = []
    checkout.first_name = "Ada"
    checkout.save()
    assert abandoned_checkout_refresh(checkout=checkout)  # stores its own JSON
    assert abandoned_checkouts_wire_store([read_early]) == 1
    assert stored_is_current(ac)
    assert '"firstName":"Ada"' in AbandonedCheckout.objects.get(pk=ac.pk).wire


def test_the_periodic_task_fills_rows_without_json(store, other_store):
    rows = [AbandonedCheckoutFactory(store=s) for s in (store, store, other_store)]
    assert abandoned_checkouts_wire_fill_task() == 3
    assert abandoned_checkouts_wire_fill_task() == 0
    stored = dict(AbandonedCheckout.objects.values_list("pk", "wire"))
    assert {str(pk): wire.encode() for pk, wire in stored.items()} == built([row.pk for row in rows])


def logged_kinds(store) -> list[AbandonedCheckout]:
    """`every_kind`, and rows with no activity, 19 and exactly 20 (the entity's limit)."""
    rows = every_kind(store)
    now = timezone.now()
    for count in (0, 19, 20):
        ac = AbandonedCheckoutFactory(store=store, buyer_language="fr")
        for minutes in range(count):
            ActivityFactory(
                abandoned_checkout=ac, type=Activity.Type.SCHEDULED, created_at=now - timedelta(minutes=minutes)
            )
        rows.append(ac)
    return rows


@pytest.mark.parametrize("language", ["en", "de-DE"])
def test_an_entity_spliced_from_stored_json_is_the_entity_built_after_logging(store, language):
    store.language = language
    store.save()
    ids = [row.pk for row in logged_kinds(store)]
    abandoned_checkouts_wire_refresh(ids)
    now = timezone.now()
    spliced = {}
    for row in AbandonedCheckout.objects.select_related("store").filter(pk__in=ids):
        activity = Activity(store_id=store.pk, abandoned_checkout=row, type=Activity.Type.EMAIL_SENT, created_at=now)
        spliced[str(row.pk)] = wire_entity_logged(row, activity, store=row.store, updated_at=now)
        activity.save()
        AbandonedCheckout.objects.filter(pk=row.pk).update(updated_at=now)
    # Byte for byte, key order included: the bytes a webhook's body is written from.
    assert {pk: orjson.dumps(entity) for pk, entity in spliced.items()} == built(ids)


def test_stored_json_is_not_spliced_when_stale_or_when_the_new_activity_might_not_sort_newest(store):
    ac = AbandonedCheckoutFactory(store=store)
    newest = ActivityFactory(abandoned_checkout=ac, created_at=timezone.now())
    row = AbandonedCheckout.objects.select_related("store").get(pk=ac.pk)

    def logged(at):
        activity = Activity(abandoned_checkout=row, type=Activity.Type.EMAIL_SENT, created_at=at)
        return wire_entity_logged(row, activity, store=row.store, updated_at=at)

    later = newest.created_at + timedelta(milliseconds=1)
    assert row.wire is None and logged(later) is None
    abandoned_checkouts_wire_refresh([ac.pk])
    row = AbandonedCheckout.objects.select_related("store").get(pk=ac.pk)
    assert logged(later) is not None
    # The same millisecond as the newest logged activity: which sorts first is the id's call.
    assert logged(newest.created_at.replace(microsecond=newest.created_at.microsecond // 1000 * 1000)) is None
    row.event_sequence += 1  # the row moved on since its JSON was stored
    assert logged(later) is None


@pytest.mark.parametrize("language", ["en", "de-DE"])
def test_a_batch_logs_from_stored_json_without_reading_activities_and_its_events_carry_the_built_entity(
    store, language
):
    store.language = language
    store.save()
    rows = logged_kinds(store)
    ids = [row.pk for row in rows]
    abandoned_checkouts_wire_refresh(ids[:-1])  # the last row has no stored JSON: built as before
    locked = list(AbandonedCheckout.objects.select_related("store").filter(pk__in=ids))
    entries = [ActivityEntry(abandoned_checkout=ac, type=Activity.Type.EMAIL_SENT) for ac in locked]
    # One checkout with two new activities in the batch: built, not spliced.
    twice = next(ac for ac in locked if ac.pk == ids[0])
    entries.append(ActivityEntry(abandoned_checkout=twice, type=Activity.Type.TASK_CREATED))
    with CaptureQueriesContext(connection) as queries:
        activities_record_locked(entries)
    activity_reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and "checkouts_activity" in q["sql"]]
    assert len(activity_reads) == 1  # the latest activities of the two rows built, in one query
    events = {
        event.entity_id: event.payload["updatedEvent"]["currentEntity"]
        for event in WebhookEvent.objects.filter(entity_id__in=ids, type="updated")
    }
    assert {str(pk): orjson.dumps(entity, option=orjson.OPT_SORT_KEYS) for pk, entity in events.items()} == {
        pk: orjson.dumps(orjson.loads(entity), option=orjson.OPT_SORT_KEYS) for pk, entity in built(ids).items()
    }
    # Every row spliced: no read of the activities at all.
    abandoned_checkouts_wire_refresh(ids)
    locked = list(AbandonedCheckout.objects.select_related("store").filter(pk__in=ids[1:-1]))
    with CaptureQueriesContext(connection) as queries:
        activities_record_locked([ActivityEntry(abandoned_checkout=ac, type=Activity.Type.EMAIL_SENT) for ac in locked])
    assert not [q for q in queries if q["sql"].startswith("SELECT") and "checkouts_activity" in q["sql"]]
