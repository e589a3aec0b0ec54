"""Applying what a Wix connection received (a webhook, a pulled page) through the one ingest service."""

from datetime import datetime
from typing import Any

from django.db import transaction

from ..models import Connection
from .abandon_at import checkouts_abandon_at
from .connections import connection_error_record, connection_events_ingest, connection_receipt_record
from .ingest import IngestResult


class EventsRefused(Exception):
    """The ingest service refused an event: nothing of the delivery was kept."""

    def __init__(self, results: list[IngestResult]):
        failed = [result for result in results if not result.success]
        super().__init__(failed[0].description if failed else "An event was refused.")
        self.results = failed


def wix_events_apply(
    *, connection: Connection, events: list[dict[str, Any]], abandoned: dict[str, datetime]
) -> list[IngestResult]:
    """Snapshots, then abandonment at Wix's moment, then completions: so a recovery finds its abandonment.

    All or nothing: if the ingest service refuses an event, EventsRefused and nothing is kept.
    """
    updates = [event for event in events if event.get("type") == "checkout.updated"]
    completions = [event for event in events if event.get("type") != "checkout.updated"]
    with transaction.atomic():
        results = connection_events_ingest(connection=connection, events=updates) if updates else []
        if not all(result.success for result in results):
            raise EventsRefused(results)
        checkouts_abandon_at(store=connection.store, moments=abandoned)
        if completions:
            results += connection_events_ingest(connection=connection, events=completions)
        if not all(result.success for result in results):
            raise EventsRefused(results)
    return results


def wix_delivery_apply(
    *,
    connection: Connection,
    delivery_id: str,
    topic: str,
    events: list[dict[str, Any]],
    abandoned: dict[str, datetime],
) -> bool:
    """A verified webhook: False if its event id was seen before (a replay: nothing done)."""
    try:
        with transaction.atomic():
            if not connection_receipt_record(connection=connection, delivery_id=delivery_id, topic=topic):
                return False
            wix_events_apply(connection=connection, events=events, abandoned=abandoned)
    except EventsRefused as refused:
        connection_error_record(connection=connection, message=f"A Wix {topic} event was refused: {refused}")
        raise
    return True


def wix_watermark_advance(*, connection: Connection, updated: datetime) -> bool:
    """Move the pull's watermark forward to `updated` (never back: two pulls may race)."""
    with transaction.atomic():
        current = Connection.objects.select_for_update().only("watermark").get(pk=connection.pk).watermark
        if current and datetime.fromisoformat(current) >= updated:
            return False
        Connection.objects.filter(pk=connection.pk).update(watermark=updated.isoformat())
    connection.watermark = updated.isoformat()
    return True
