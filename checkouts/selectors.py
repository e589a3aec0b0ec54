"""Reads: every queryset a request or a task uses starts here, scoped to one store."""

from datetime import datetime

from django.db.models import Prefetch, QuerySet

from .models import AbandonedCheckout, Activity, SchedulerHeartbeat, Store


def activities_latest(*, abandoned_checkout_id, limit: int = Activity.API_LIMIT) -> list[Activity]:
    """The newest activities of one abandoned checkout, newest first."""
    return list(
        Activity.objects.filter(abandoned_checkout_id=abandoned_checkout_id).order_by("-created_at", "-id")[:limit]
    )


def latest_activities_prefetch() -> Prefetch:
    """Prefetch each row's latest 20 activities in one query (a window function per page)."""
    return Prefetch(
        "activities",
        queryset=Activity.objects.order_by("-created_at", "-id")[: Activity.API_LIMIT],
        to_attr="latest_activities",
    )


def abandoned_checkouts_for_store(*, store: Store) -> QuerySet[AbandonedCheckout]:
    """The starting point for every list and detail of a store's abandoned checkouts."""
    return AbandonedCheckout.objects.filter(store=store)


def abandoned_checkouts_with_activities(queryset: QuerySet[AbandonedCheckout]) -> QuerySet[AbandonedCheckout]:
    return queryset.prefetch_related(latest_activities_prefetch())


def scheduler_heartbeat_latest(*, name: str = SchedulerHeartbeat.BEAT) -> datetime | None:
    """When the scheduler's tick last ran end to end, or None if it never has."""
    return SchedulerHeartbeat.objects.filter(name=name).values_list("beat_at", flat=True).first()
