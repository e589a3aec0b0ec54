"""Reads for the webhook pages and the checkout timeline; every one starts from a store or an entity."""

from uuid import UUID

from django.db.models import QuerySet

from ..models import Store, WebhookDelivery, WebhookEndpoint

# The timeline shows at most this many deliveries of one checkout (newest first).
TIMELINE_LIMIT = 50


def webhook_endpoints_for_store(*, store: Store) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(store=store).order_by("created_at", "id")


def webhook_deliveries_for_endpoint(
    *, endpoint: WebhookEndpoint, state: str = "", event_type: str = ""
) -> QuerySet[WebhookDelivery]:
    """The endpoint's delivery log; the payload stays in the event table, so rows stay light."""
    queryset = WebhookDelivery.objects.filter(endpoint=endpoint)
    if state:
        queryset = queryset.filter(state=state)
    if event_type:
        queryset = queryset.filter(event_type=event_type)
    return queryset


def webhook_deliveries_for_entity(
    *, store_id: UUID, entity_id: UUID, limit: int = TIMELINE_LIMIT
) -> list[WebhookDelivery]:
    """A checkout's deliveries to the store's endpoints, newest first, in one query."""
    return list(
        WebhookDelivery.objects.filter(entity_id=entity_id, endpoint__store_id=store_id)
        .select_related("endpoint")
        .order_by("-created_at", "-id")[:limit]
    )
