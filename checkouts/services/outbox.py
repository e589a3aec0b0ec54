"""Writing webhook events to the outbox, always inside the transaction that made the change.

This module owns an abandoned checkout's `entityEventSequence`: the row's `event_sequence` is
the number of its last event, every change moves it on by the number of events it writes
(`sequence_advance`), and those events take the numbers up to it (`entity_events_build`). It
also owns the stored payloads' shape, so it is the one place that rewrites them
(`outbox_payloads_replace_entity`).
"""

import os
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db.models import F
from django.db.models.expressions import CombinedExpression
from django.utils import timezone

from ..inserts import insert_rows
from ..models import AbandonedCheckout, Activity, Store, WebhookEvent
from ..webhooks.delivery import EventRow, webhook_deliveries_create
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
    return _domain_event(str(event_id), slug, str(entity_id), sequence, iso(event_time), entity, anonymize)


def _domain_event(
    event_id: str, slug: str, entity_id: str, sequence: int, event_time: str, entity: dict[str, Any], anonymize: bool
) -> dict[str, Any]:
    # Positional and on strings: the sweep builds thousands per batch, with one event time.
    body: dict[str, Any] = {
        "id": event_id,
        "entityFqdn": WebhookEvent.ENTITY_FQDN,
        "slug": slug,
        "entityId": entity_id,
        "eventTime": event_time,
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


def created_events_record(abandoned_checkouts: Sequence[AbandonedCheckout], *, stores: dict) -> int:
    """The `created` event of each new abandoned checkout (the first of its sequence), with its
    activities as prefetched in `latest_activities`. `stores`: the checkouts' stores by id.

    The sweep's batch form of `entity_events_record`: one event time for the batch (one
    transaction's), plain rows instead of model instances, one COPY. Returns how many.
    """
    now = timezone.now()
    event_time = iso(now)
    slug = WebhookEvent.Type.CREATED
    # One read of the random source for the batch's event ids instead of one per event.
    random = os.urandom(16 * len(abandoned_checkouts))
    rows = []
    for index, ac in enumerate(abandoned_checkouts):
        event_id = uuid.UUID(bytes=random[16 * index : 16 * index + 16], version=4)
        entity = abandoned_checkout_to_wix(ac, store=stores[ac.store_id])
        payload = _domain_event(str(event_id), slug, entity["id"], ac.event_sequence, event_time, entity, False)
        rows.append(EventRow(event_id, ac.store_id, slug, ac.pk, ac.event_sequence, payload, now))
    insert_rows(WebhookEvent, _EVENT_COLUMNS, rows)
    webhook_deliveries_create(events=rows)
    return len(rows)


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


_EVENT_COLUMNS = list(EventRow._fields)


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
