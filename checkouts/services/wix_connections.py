"""Applying what a Wix connection received (a webhook, a pulled page) through the one ingest service."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime

from ..models import AbandonedCheckout, Activity, Connection, Store
from .abandon_at import checkouts_abandon_at
from .connections import connection_events_ingest
from .ingest import IngestResult, checkout_events_ingest


class EventsRefused(Exception):
    """The ingest service refused an event: nothing of the delivery was kept."""

    def __init__(self, results: list[IngestResult]):
        failed = [result for result in results if not result.success]
        super().__init__(failed[0].description if failed else "An event was refused.")
        self.results = failed


def wix_events_apply(
    *,
    connection: Connection,
    events: list[dict[str, Any]],
    abandoned: dict[str, datetime],
    activities: dict[str, list] | None = None,
    note: bool = True,
) -> list[IngestResult]:
    """Snapshots, then abandonment at Wix's moment, then completions: so a recovery finds its abandonment.

    All or nothing: if the ingest service refuses an event, EventsRefused and nothing is kept. With
    `note` False the connection's status is left to the caller (the inbox's drain notes it once a batch
    has committed, so the connection row is not held locked while checkouts are written).
    """
    ingest = connection_events_ingest if note else _ingest_only
    updates = [event for event in events if event.get("type") == "checkout.updated"]
    completions = [event for event in events if event.get("type") != "checkout.updated"]
    with transaction.atomic():
        results = ingest(connection=connection, events=updates) if updates else []
        if not all(result.success for result in results):
            raise EventsRefused(results)
        checkouts_abandon_at(store=connection.store, moments=abandoned)
        if completions:
            results += ingest(connection=connection, events=completions)
        if not all(result.success for result in results):
            raise EventsRefused(results)
        for external_id, log in (activities or {}).items():
            wix_activities_import(store=connection.store, checkout_external_id=external_id, activities=log)
    return results


def _ingest_only(*, connection: Connection, events: list[dict[str, Any]]) -> list[IngestResult]:
    return checkout_events_ingest(store=connection.store, events=events)


def wix_activities_import(*, store: Store, checkout_external_id: str, activities: list) -> int:
    """Copy Wix's activity log (`[{createdDate, type}]`) onto the abandoned checkout, each entry once.

    They are Wix's record, not Comeback's doing: marked `detail.source = "wix"`, no outbox event, and
    the abandoned checkout's updatedDate is left alone, so a second import of the same log writes nothing.
    """
    entries = {
        (item["type"], moment)
        for item in activities
        if isinstance(item, dict)
        and item.get("type") in Activity.Type.values
        and isinstance(item.get("createdDate"), str)
        and (moment := parse_datetime(item["createdDate"])) is not None
    }
    ac = AbandonedCheckout.objects.filter(store=store, checkout_external_id=checkout_external_id).first()
    if ac is None or not entries:
        return 0
    known = set(Activity.objects.filter(abandoned_checkout=ac, detail__source="wix").values_list("type", "created_at"))
    new = [
        Activity(store=store, abandoned_checkout=ac, type=kind, detail={"source": "wix"}, created_at=moment)
        for kind, moment in sorted(entries - known, key=lambda entry: entry[1])
    ]
    Activity.objects.bulk_create(new)
    return len(new)


def wix_watermark_advance(*, connection: Connection, updated: datetime) -> bool:
    """Move the pull's watermark forward to `updated` (never back: two pulls may race)."""
    with transaction.atomic():
        current = Connection.objects.select_for_update().only("watermark").get(pk=connection.pk).watermark
        if current and datetime.fromisoformat(current) >= updated:
            return False
        Connection.objects.filter(pk=connection.pk).update(watermark=updated.isoformat())
    connection.watermark = updated.isoformat()
    return True
