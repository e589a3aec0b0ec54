"""Reads: every queryset a request or a task uses starts here, scoped to one store."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from .models import AbandonedCheckout, Activity, Store


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


def abandoned_checkout_for_recovery_link(*, abandoned_checkout_id: UUID, store_id: UUID) -> AbandonedCheckout | None:
    """The checkout a recovery link names, only if the link's metasiteId is its store."""
    return AbandonedCheckout.objects.filter(pk=abandoned_checkout_id, store_id=store_id).select_related("store").first()


def abandoned_checkout_totals(
    *, store: Store, start: datetime, end: datetime, statuses: list[str] | None = None
) -> dict[str, Decimal | int]:
    """Value and count of recoverable (still abandoned) and recovered checkouts abandoned in [start, end).

    One aggregate over the `(store, created_at)` index range.
    """
    queryset = abandoned_checkouts_for_store(store=store).filter(created_at__gte=start, created_at__lt=end)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    abandoned = Q(status=AbandonedCheckout.Status.ABANDONED)
    recovered = Q(status=AbandonedCheckout.Status.RECOVERED)
    return queryset.aggregate(
        recoverable_value=Sum("total", filter=abandoned, default=Decimal(0)),
        recoverable_count=Count("id", filter=abandoned),
        recovered_value=Sum("total", filter=recovered, default=Decimal(0)),
        recovered_count=Count("id", filter=recovered),
    )
