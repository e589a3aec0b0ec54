"""Writing webhook events to the outbox, always inside the transaction that made the change."""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone

from ..bulk import insert_rows
from ..models import AbandonedCheckout, Activity, Store, WebhookEvent
from ..webhooks.delivery import webhook_deliveries_create
from ..wix import abandoned_checkout_to_wix, iso

_BODY_KEYS = {
    WebhookEvent.Type.CREATED: ("createdEvent", "entity"),
    WebhookEvent.Type.UPDATED: ("updatedEvent", "currentEntity"),
    WebhookEvent.Type.DELETED: ("deletedEvent", "deletedEntity"),
}


def domain_event(
    *,
    event_id: uuid.UUID,
    slug: str,
    entity_id: uuid.UUID,
    sequence: int,
    event_time: datetime,
    entity: dict[str, Any],
    anonymize: bool = False,
) -> dict[str, Any]:
    """The Wix domain event body (reference §4), the `data.data` of a Wix webhook."""
    body: dict[str, Any] = {
        "id": str(event_id),
        "entityFqdn": WebhookEvent.ENTITY_FQDN,
        "slug": slug,
        "entityId": str(entity_id),
        "eventTime": iso(event_time),
        "triggeredByAnonymizeRequest": anonymize,
        "entityEventSequence": str(sequence),
    }
    if slug == WebhookEvent.Type.RECOVERED:
        body["actionEvent"] = {"body": {"abandonedCheckout": entity}}
    else:
        outer, inner = _BODY_KEYS[slug]
        body[outer] = {inner: entity}
    return body


def webhook_event_build(
    *,
    abandoned_checkout: AbandonedCheckout,
    slug: str,
    sequence: int,
    store: Store | None = None,
    activities: Iterable[Activity] | None = None,
    entity: dict[str, Any] | None = None,
    anonymize: bool = False,
) -> WebhookEvent:
    """An unsaved outbox row for `abandoned_checkout` as it is now."""
    store = store or abandoned_checkout.store
    now = timezone.now()
    event_id = uuid.uuid4()
    if entity is None:
        entity = abandoned_checkout_to_wix(abandoned_checkout, activities, store=store)
    return WebhookEvent(
        id=event_id,
        store_id=abandoned_checkout.store_id,
        type=slug,
        entity_id=abandoned_checkout.id,
        sequence=sequence,
        created_at=now,
        payload=domain_event(
            event_id=event_id,
            slug=slug,
            entity_id=abandoned_checkout.id,
            sequence=sequence,
            event_time=now,
            entity=entity,
            anonymize=anonymize,
        ),
    )


_EVENT_COLUMNS = ["id", "store_id", "type", "entity_id", "sequence", "payload", "created_at"]


def webhook_events_record(events: list[WebhookEvent]) -> list[WebhookEvent]:
    """Insert outbox rows and their deliveries. Must run inside the transaction of the change they describe.

    Set-based, because the sweep calls it with thousands of events at once: one COPY (or
    insert) for the events, one query for the stores' endpoints, one for the deliveries;
    the workers are woken after commit.
    """
    if not events:
        return events
    insert_rows(WebhookEvent, _EVENT_COLUMNS, [[getattr(event, name) for name in _EVENT_COLUMNS] for event in events])
    webhook_deliveries_create(events=events)
    return events
