"""Writing webhook events to the outbox, always inside the transaction that made the change.

This module owns an abandoned checkout's `entityEventSequence`: the row's `event_sequence` is
the number of its last event, every change moves it on by the number of events it writes
(`sequence_advance`), and those events take the numbers up to it (`entity_events_build`). It
also owns the stored payloads' shape, so it is the one place that rewrites them
(`outbox_payloads_replace_entity`).
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db.models import F
from django.db.models.expressions import CombinedExpression
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


def sequence_advance(events: int = 1) -> CombinedExpression:
    """The `event_sequence` of an UPDATE that writes `events` events about the row."""
    return F("event_sequence") + events


def entity_events_build(
    *,
    abandoned_checkout: AbandonedCheckout,
    slugs: Sequence[str],
    stored: bool = True,
    activities: Iterable[Activity] | None = None,
    entity: dict[str, Any] | None = None,
    anonymize: bool = False,
) -> list[WebhookEvent]:
    """The unsaved events of one change, in order, all carrying the entity as it is now.

    `stored`: the instance's `event_sequence` already counts these events (its row was moved
    on by `sequence_advance(len(slugs))`), so they end at it. A row about to be deleted is not
    moved on (stored=False): its events follow its last number.
    """
    last = abandoned_checkout.event_sequence + (0 if stored else len(slugs))
    if entity is None:
        entity = abandoned_checkout_to_wix(abandoned_checkout, activities, store=abandoned_checkout.store)
    first = last - len(slugs) + 1
    return [
        webhook_event_build(
            abandoned_checkout=abandoned_checkout, slug=slug, sequence=first + index, entity=entity, anonymize=anonymize
        )
        for index, slug in enumerate(slugs)
    ]


def entity_events_record(**kwargs: Any) -> list[WebhookEvent]:
    """`entity_events_build` written to the outbox: the usual case, one change and its events."""
    return webhook_events_record(entity_events_build(**kwargs))


def created_events_record(abandoned_checkouts: Sequence[AbandonedCheckout], *, stores: dict) -> list[WebhookEvent]:
    """The `created` event of each new abandoned checkout (the first of its sequence), with its
    activities as prefetched in `latest_activities`. `stores`: the checkouts' stores by id."""
    return webhook_events_record(
        [
            webhook_event_build(
                abandoned_checkout=ac,
                slug=WebhookEvent.Type.CREATED,
                sequence=ac.event_sequence,
                store=stores[ac.store_id],
            )
            for ac in abandoned_checkouts
        ]
    )


def outbox_payloads_replace_entity(*, entity_id: uuid.UUID, entity: dict[str, Any]) -> int:
    """Swap the entity inside every stored event about it (the buyer's data out). Returns how many."""
    events = 0
    for event in WebhookEvent.objects.filter(entity_id=entity_id).only("id", "payload"):
        payload = event.payload
        for outer, inner in _BODY_KEYS.values():
            if outer in payload:
                payload[outer][inner] = entity
        if "actionEvent" in payload:
            payload["actionEvent"]["body"]["abandonedCheckout"] = entity
        events += WebhookEvent.objects.filter(pk=event.pk).update(payload=payload)
    return events


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
