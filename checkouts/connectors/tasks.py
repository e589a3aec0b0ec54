"""Thin Celery tasks for connections."""

from celery import shared_task

from ..services.connections import BACKFILL_TASK, connection_backfill_run


@shared_task(name=BACKFILL_TASK)
def connection_backfill_task(connection_id: str) -> int:
    return connection_backfill_run(connection_id=connection_id)
