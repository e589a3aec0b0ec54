"""Bulk work a merchant starts from the list: done by the worker, its progress shown on the page."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .scope import StoreScopedQuerySet
from .store import Store


class BulkJob(models.Model):
    """Delete or anonymise a selection of abandoned checkouts, a chunk at a time.

    The row is the durable record of the work: `done` says how far it got, so a worker that
    dies halfway is resumed by the sweeper from where it stopped, never from the start.
    """

    class Action(models.TextChoices):
        DELETE = "DELETE", "Delete"
        ANONYMISE = "ANONYMISE", "Anonymise"

    class State(models.TextChoices):
        PENDING = "PENDING", "Waiting for a worker"
        RUNNING = "RUNNING", "Running"
        DONE = "DONE", "Done"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="bulk_jobs", db_index=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # The selected ids, in the order they are worked through; `done` is an offset into it.
    ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    # How many of the done ids were already gone (deleted meanwhile, or never this store's).
    skipped = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Touched after every chunk: the sweeper resumes a RUNNING job that has gone quiet.
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(done__lte=F("total")), name="bulk_job_done_within_total"),
            models.CheckConstraint(condition=Q(action__in=["DELETE", "ANONYMISE"]), name="bulk_job_action_valid"),
            models.CheckConstraint(condition=Q(state__in=["PENDING", "RUNNING", "DONE"]), name="bulk_job_state_valid"),
        ]
        indexes = [
            models.Index(F("store"), F("created_at").desc(), name="bulk_job_store_created"),
            # Only unfinished jobs are in it, so the sweeper reads a tiny index.
            models.Index(fields=["heartbeat_at"], condition=~Q(state="DONE"), name="bulk_job_unfinished"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.total} ({self.get_state_display()})"

    @property
    def is_finished(self) -> bool:
        return self.state == self.State.DONE

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)
