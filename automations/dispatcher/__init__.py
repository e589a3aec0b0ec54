"""The dispatcher: runs due scheduled steps, each resolved with exactly one activity.

One pass claims a batch of due rows (PENDING → RUNNING with a lease, `SELECT … FOR UPDATE
SKIP LOCKED` so dispatchers running side by side split the work), then processes the batch
in one transaction that first locks the batch's abandoned checkouts. Recovery is a
conditional UPDATE of that same row, so it waits for the batch to commit or, having
committed first, is seen here as RECOVERED: no email is started after a recovery commits.

The schedule lives in the database; Celery only wakes this up (a beat tick plus on-commit
nudges). A constant number of queries per batch, whatever its size.

Sending and recording cannot be one atomic act. The batch records its emails when it
commits, so a worker killed mid-batch leaves no trace and its steps run again after the
lease: an email whose send had not started goes out once. One the mail server had already
accepted before the kill goes out again, with the same Message-ID and
X-Comeback-Idempotency-Key, for providers and mailboxes that drop duplicates; the batch size
bounds how many. A step whose sent-email record did commit is never sent again.
"""

import contextvars
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from ..models import ScheduledStep
from .batch import BatchNotStarted, process_batch
from .receipts import SendReceipts

logger = logging.getLogger(__name__)

__all__ = ["DispatchReport", "claim_due_steps", "scheduled_steps_dispatch"]

SQLITE_BATCH_SIZE = 20


@dataclass
class DispatchReport:
    batches: int = 0
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcomes: dict[str, int]) -> None:
        for key, count in outcomes.items():
            self.outcomes[key] = self.outcomes.get(key, 0) + count

    def merge(self, other: "DispatchReport") -> None:
        self.batches += other.batches
        self.claimed += other.claimed
        self.add(other.outcomes)


def claim_due_steps(*, now: datetime, batch_size: int) -> list[int]:
    """Claim up to `batch_size` due steps: PENDING and due, or RUNNING with an expired lease
    (their worker died). Commits before returning, so the lease outlives this process."""
    lease = timedelta(seconds=settings.COMEBACK_DISPATCH_LEASE_SECONDS)
    with transaction.atomic():
        # Expired leases first: they are the oldest work. Each query walks its own partial index.
        ids = list(
            ScheduledStep.objects.filter(state=ScheduledStep.State.RUNNING, locked_until__lt=now)
            .order_by("locked_until")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:batch_size]
        )
        if len(ids) < batch_size:
            ids += list(
                ScheduledStep.objects.filter(state=ScheduledStep.State.PENDING, due_at__lte=now)
                .order_by("due_at")
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)[: batch_size - len(ids)]
            )
        if ids:
            ScheduledStep.objects.filter(pk__in=ids).update(
                state=ScheduledStep.State.RUNNING, attempts=F("attempts") + 1, locked_until=now + lease
            )
    return ids


def scheduled_steps_dispatch(
    *,
    batch_size: int | None = None,
    time_budget: float | None = None,
    max_batches: int | None = None,
    threads: int | None = None,
) -> DispatchReport:
    """Work through due steps batch by batch until none is due, the time budget is spent or
    `max_batches` have run. Safe to run in several processes at once.

    On PostgreSQL, once a first claim comes back full, the batches run in `threads` threads
    (COMEBACK_DISPATCH_THREADS): the caller's, and others each with connections of their own
    (the batch's and its receipts'). Their claims skip each other's locked rows, as two
    workers' do. While one thread waits for the database or the mail server, another renders
    its emails: a batch spends a quarter of its time waiting for PostgreSQL, and with a remote
    SMTP server most of it waiting for the server's answers. A tick with a few due steps opens
    no connection. A caller inside a transaction, or one counting batches (`max_batches`),
    gets every batch in its own thread.
    """
    batch_size = batch_size or settings.COMEBACK_DISPATCH_BATCH_SIZE
    if connection.vendor == "sqlite":
        # SQLite has one writer at a time: small batches keep the web process's writes waiting
        # milliseconds, not the length of a hundred SMTP conversations.
        batch_size = min(batch_size, SQLITE_BATCH_SIZE)
    threads = max(1, threads or settings.COMEBACK_DISPATCH_THREADS)
    if connection.vendor != "postgresql" or connection.in_atomic_block or max_batches is not None:
        threads = 1
    run = _Run(started=time.monotonic(), batch_size=batch_size, time_budget=time_budget, max_batches=max_batches)
    report = DispatchReport()
    # The pool starts its threads, and they their connections, only when work is submitted.
    with ThreadPoolExecutor(max_workers=max(1, threads - 1), thread_name_prefix="dispatch") as pool:
        running = []

        def burst(claimed: int) -> None:
            if threads > 1 and claimed == batch_size:
                # Each thread runs in a copy of this context, so its log lines name the task.
                running.extend(
                    pool.submit(contextvars.copy_context().run, _batches_in_thread, run) for _ in range(threads - 1)
                )

        receipts = SendReceipts()
        try:
            _batches_run(run, report, receipts, claimed=burst)
        finally:
            receipts.close()
        for future in running:
            report.merge(future.result())
    if report.claimed:
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(report.outcomes.items()))
        batches = f"{report.batches} batch" if report.batches == 1 else f"{report.batches} batches"
        logger.info("Ran %d scheduled steps in %s: %s", report.claimed, batches, summary or "none done")
    return report


@dataclass(frozen=True)
class _Run:
    started: float
    batch_size: int
    time_budget: float | None
    max_batches: int | None


def _batches_in_thread(run: _Run) -> DispatchReport:
    report = DispatchReport()
    receipts = SendReceipts()
    try:
        _batches_run(run, report, receipts)
    finally:
        receipts.close()
        # The connections this thread opened; the pool's threads end with the run.
        connections.close_all()
    return report


def _batches_run(
    run: _Run, report: DispatchReport, receipts: SendReceipts, *, claimed: Callable[[int], None] | None = None
) -> None:
    while run.max_batches is None or report.batches < run.max_batches:
        if run.time_budget is not None and time.monotonic() - run.started > run.time_budget:
            break
        ids = claim_due_steps(now=timezone.now(), batch_size=run.batch_size)
        if claimed is not None:
            claimed(len(ids))
            claimed = None
        if not ids:
            break
        report.batches += 1
        report.claimed += len(ids)
        try:
            report.add(process_batch(ids, receipts=receipts))
        except BatchNotStarted:
            # A deadlock with a recovery while locking, say: nothing was sent and nothing kept,
            # so the rows go straight back instead of waiting out their lease.
            logger.exception("Dispatcher batch of %d steps could not start; releasing it", len(ids))
            ScheduledStep.objects.filter(pk__in=ids, state=ScheduledStep.State.RUNNING).update(
                state=ScheduledStep.State.PENDING, locked_until=None
            )
            break
        if len(ids) < run.batch_size:
            break
