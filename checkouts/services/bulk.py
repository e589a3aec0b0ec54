"""Bulk delete / anonymise: a job row written by the request, the work done by the worker."""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from config.wakeups import wake_up_publish

from ..models import BulkJob, Store
from .erasure import abandoned_checkout_anonymise, abandoned_checkout_delete

logger = logging.getLogger(__name__)

# Ids worked per transaction-free step between two progress updates: small enough that the
# progress bar moves every second or so, large enough that the bookkeeping is noise.
BULK_CHUNK = 25
# The most a single job takes: "all matching" resolves the filter to at most this many ids (the
# list's count cap, so "10,000+" means "the first 10,000, run it again for the rest"); 370 kB of
# JSON in the job row, written once.
BULK_MAX_IDS = 10_000
# The worker's task, by name: checkouts.tasks imports this module.
BULK_JOB_RUN_TASK = "checkouts.tasks.bulk_job_run_task"
# A RUNNING job whose heartbeat is older than this lost its worker and is resumed.
BULK_STALE_AFTER = timedelta(minutes=5)


def _delete(*, abandoned_checkout_id: UUID, store: Store, actor: AbstractBaseUser | None) -> bool:
    # The row goes with its timeline: who deleted it is on the job's page instead.
    return abandoned_checkout_delete(abandoned_checkout_id=abandoned_checkout_id, store=store)


_WORK = {
    BulkJob.Action.DELETE: _delete,
    BulkJob.Action.ANONYMISE: abandoned_checkout_anonymise,
}


def _unique_ids(ids: Iterable[str | UUID]) -> list[str]:
    seen: dict[str, None] = {}
    for raw in ids:
        seen[str(UUID(str(raw)))] = None
    return list(seen)


def bulk_job_create(
    *, store: Store, action: str, ids: Iterable[str | UUID], created_by: AbstractBaseUser | None = None
) -> BulkJob:
    """Record the job and wake a worker once it is committed. Raises ValueError on a bad selection."""
    if action not in BulkJob.Action.values:
        raise ValueError(f"Unknown bulk action {action!r}.")
    unique = _unique_ids(ids)
    if not unique:
        raise ValueError("Select at least one checkout.")
    if len(unique) > BULK_MAX_IDS:
        raise ValueError(f"Select at most {BULK_MAX_IDS:,} checkouts at a time.")
    job = BulkJob.objects.create(store=store, action=action, ids=unique, total=len(unique), created_by=created_by)
    _enqueue(job.pk)
    return job


def _enqueue(job_id: UUID) -> None:
    # A lost message is resumed by the bulk-jobs-resume sweep within a minute.
    transaction.on_commit(lambda: wake_up_publish(BULK_JOB_RUN_TASK, str(job_id)))


def bulk_job_run(*, job_id: UUID) -> BulkJob | None:
    """Work through a job from where it stopped. Safe to call twice: a second caller finds the row
    locked (or finished) and returns without doing anything."""
    while True:
        with transaction.atomic():
            job = (
                BulkJob.objects.select_related("store")
                .select_for_update(skip_locked=True, of=("self",))
                .filter(pk=job_id)
                .first()
            )
            if job is None or job.is_finished:
                return job
            chunk = job.ids[job.done : job.done + BULK_CHUNK]
            work = _WORK[job.action]
            # The chunk and its progress commit together: a crash rolls both back, and the
            # resumed job redoes exactly that chunk.
            actor = job.created_by
            gone = sum(not work(abandoned_checkout_id=UUID(pk), store=job.store, actor=actor) for pk in chunk)
            now = timezone.now()
            job.done += len(chunk)
            job.skipped += gone
            job.heartbeat_at = now
            job.state = BulkJob.State.DONE if job.done >= job.total else BulkJob.State.RUNNING
            job.finished_at = now if job.state == BulkJob.State.DONE else None
            job.save(update_fields=["done", "skipped", "heartbeat_at", "state", "finished_at"])
        if job.is_finished:
            logger.info("Bulk job %s finished: %d done, %d skipped", job.pk, job.done, job.skipped)
            return job


def bulk_jobs_resume(*, now: datetime | None = None) -> int:
    """Re-enqueue jobs whose wake-up was lost (PENDING) or whose worker died (RUNNING, quiet)."""
    cutoff = (now or timezone.now()) - BULK_STALE_AFTER
    stuck = list(
        BulkJob.objects.exclude(state=BulkJob.State.DONE).filter(heartbeat_at__lt=cutoff).values_list("pk", flat=True)
    )
    for job_id in stuck:
        _enqueue(job_id)
    return len(stuck)
