"""Thin Celery tasks: each calls one service and returns quietly when there is nothing to do."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .connectors.wix.tasks import wix_pull_task, wix_pulls_schedule_task  # noqa: F401 - registered with the worker
from .models import IngestedEvent
from .services import abandoned_checkouts_detect, bulk_job_run, bulk_jobs_resume, scheduler_heartbeat_record
from .services.privacy import abandoned_checkouts_retention_apply
from .services.wire import abandoned_checkouts_wire_fill_missing

# Old replay records are deleted a few thousand at a time so no statement holds locks long.
PRUNE_BATCH = 5000


@shared_task
def abandoned_checkouts_detect_task() -> int:
    return abandoned_checkouts_detect()


@shared_task
def ingested_events_prune_task() -> int:
    cutoff = timezone.now() - timedelta(days=settings.COMEBACK_INGEST_DEDUP_DAYS)
    deleted = 0
    while True:
        ids = list(IngestedEvent.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            return deleted
        deleted += IngestedEvent.objects.filter(pk__in=ids).delete()[0]


@shared_task
def scheduler_heartbeat_task() -> None:
    scheduler_heartbeat_record()


@shared_task
def bulk_job_run_task(job_id: str) -> None:
    bulk_job_run(job_id=job_id)


@shared_task
def bulk_jobs_resume_task() -> int:
    return bulk_jobs_resume()


@shared_task
def abandoned_checkouts_retention_task() -> int:
    return abandoned_checkouts_retention_apply()


@shared_task
def abandoned_checkouts_wire_fill_task() -> int:
    return abandoned_checkouts_wire_fill_missing()
