"""Connections: what every connector shares between receiving a delivery and the ingest service."""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Connection, ConnectionReceipt
from .ingest import IngestResult, checkout_events_ingest


def connection_receipt_record(*, connection: Connection, delivery_id: str, topic: str = "") -> bool:
    """Remember a platform's delivery id; False if it was seen before (a replay: do nothing)."""
    try:
        with transaction.atomic():
            ConnectionReceipt.objects.create(connection=connection, delivery_id=delivery_id[:200], topic=topic[:100])
    except IntegrityError:
        return False
    return True


def connection_events_ingest(*, connection: Connection, events: list[dict[str, Any]]) -> list[IngestResult]:
    """Hand a connector's checkout events to the one ingest service, and note the outcome on the connection."""
    results = checkout_events_ingest(store=connection.store, events=events)
    failed = [result for result in results if not result.success]
    now = timezone.now()
    changes: dict[str, Any] = {"last_event_at": now}
    if failed:
        changes |= {"last_error": failed[0].description or "An event was refused.", "last_error_at": now}
    Connection.objects.filter(pk=connection.pk).update(**changes)
    return results


def connection_error_record(*, connection: Connection, message: str) -> None:
    """Note a failure in plain words (a bad signature, an unreachable API) for the connection's status."""
    Connection.objects.filter(pk=connection.pk).update(last_error=message[:2000], last_error_at=timezone.now())
