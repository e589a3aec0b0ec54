"""Reads for the connection pages: a store's connections with what their status line needs."""

from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ..models import Connection, Store


def connections_with_status(*, store: Store) -> QuerySet[Connection]:
    """The store's connections, each with `events_24h`: deliveries received in the last 24 hours (one query)."""
    since = timezone.now() - timedelta(hours=24)
    return Connection.objects.for_store(store).annotate(
        events_24h=Count("receipts", filter=Q(receipts__received_at__gte=since))
    )
