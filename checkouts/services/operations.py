"""Writes the operations checks rely on."""

from datetime import datetime

from django.utils import timezone

from ..models import SchedulerHeartbeat


def scheduler_heartbeat_record(
    *, name: str = SchedulerHeartbeat.BEAT, at: datetime | None = None
) -> SchedulerHeartbeat:
    """Record that the scheduler's tick just ran (one row per name, overwritten)."""
    heartbeat, _ = SchedulerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": at or timezone.now()})
    return heartbeat
