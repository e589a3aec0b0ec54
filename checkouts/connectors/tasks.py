"""Thin Celery tasks for connections."""

from celery import shared_task

from ..services.connection_inbox import DRAIN_TASK, connection_inbox_drain
from ..services.connections import (
    BACKFILL_TASK,
    connection_backfill_run,
    connection_credentials_retire,
    connection_receipts_prune,
)


@shared_task(name=BACKFILL_TASK)
def connection_backfill_task(connection_id: str) -> int:
    return connection_backfill_run(connection_id=connection_id)


@shared_task(name="checkouts.connection_receipts_prune")
def connection_receipts_prune_task() -> int:
    """Hourly: old delivery ids, and the replaced secrets and tokens whose grace has ended."""
    connection_credentials_retire()
    return connection_receipts_prune()


@shared_task(name=DRAIN_TASK)
def connection_inbox_drain_task() -> int:
    return connection_inbox_drain()
