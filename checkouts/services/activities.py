"""Appending automation activities to an abandoned checkout's log."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from ..inserts import instances_from_rows, instances_insert
from ..models import AbandonedCheckout, Activity
from ..selectors import activities_latest, latest_activities_prefetch
from ..wire import wire_entity_logged
from .outbox import entity_events_build, entity_events_record, sequence_advance, webhook_events_record
from .wire import WIRE_DROPPED


@dataclass
class ActivityEntry:
    abandoned_checkout: AbandonedCheckout
    type: str
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def activity_record(
    *,
    abandoned_checkout_id,
    type: str,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> Activity | None:
    """Log one activity and write the `updated` event that carries it.

    Locks the abandoned checkout so the activity, its updatedDate and its event sequence
    move together. Returns None when the abandoned checkout no longer exists.
    """
    now = timezone.now()
    with transaction.atomic():
        updated = AbandonedCheckout.objects.filter(pk=abandoned_checkout_id).update(
            updated_at=now,
            last_activity_type=type,
            last_activity_at=now,
            event_sequence=sequence_advance(1),
            **WIRE_DROPPED,
        )
        if not updated:
            return None
        ac = AbandonedCheckout.objects.select_related("store").get(pk=abandoned_checkout_id)
        activity = Activity.objects.create(
            store_id=ac.store_id,
            abandoned_checkout=ac,
            type=type,
            reason=reason,
            detail=detail or {},
            created_at=now,
        )
        entity_events_record(
            abandoned_checkout=ac, slugs=["updated"], activities=activities_latest(abandoned_checkout_id=ac.pk)
        )
    return activity


_ACTIVITY_FIELDS = ["id", "store_id", "abandoned_checkout_id", "type", "reason", "detail", "created_at"]


def _activities_build(entries: Sequence[ActivityEntry], *, now, linked: bool) -> list[Activity]:
    """Unsaved activities, built the fast way (thousands per sweep batch). `linked` also caches
    each one's abandoned_checkout instance, for callers that read it back."""
    activities = instances_from_rows(
        Activity,
        _ACTIVITY_FIELDS,
        [
            (
                None,
                entry.abandoned_checkout.store_id,
                entry.abandoned_checkout.pk,
                entry.type,
                entry.reason,
                entry.detail,
                now,
            )
            for entry in entries
        ],
    )
    if linked:
        cache = Activity.abandoned_checkout.field.set_cached_value
        for activity, entry in zip(activities, entries, strict=True):
            cache(activity, entry.abandoned_checkout)
    return activities


def activities_insert(entries: Sequence[ActivityEntry]) -> list[Activity]:
    """Log activities about abandoned checkouts the sweep is creating, whose rows are not written
    yet: only the activities are inserted. The sweep's receivers return them, and each new row
    and its `created` event carry them (see `hooks.abandoned_checkouts_created`)."""
    activities = _activities_build(entries, now=timezone.now(), linked=False)
    instances_insert(Activity, activities)
    return activities


def activities_record_bulk(entries: Sequence[ActivityEntry]) -> list[Activity]:
    """Log activities inside a lifecycle transaction whose own event follows and carries them:
    the `updated` event of a recovery or an erasure.

    No `updated` event of its own. The rows take their newest activity's type and time, and
    the new activities are kept on each instance (`latest_activities`).
    """
    activities = activities_insert(entries)
    by_type: dict[str, list] = {}
    for entry, activity in zip(entries, activities, strict=True):
        ac = entry.abandoned_checkout
        ac.latest_activities = [activity, *getattr(ac, "latest_activities", [])]
        ac.last_activity_type, ac.last_activity_at = activity.type, activity.created_at
        by_type.setdefault(activity.type, []).append(ac.pk)
    now = activities[0].created_at if activities else None
    for activity_type, ids in by_type.items():
        AbandonedCheckout.objects.filter(pk__in=ids).update(last_activity_type=activity_type, last_activity_at=now)
    return activities


def activities_record_locked(entries: Sequence[ActivityEntry]) -> list[Activity]:
    """Log activities for abandoned checkouts the caller has already locked (select_for_update,
    select_related("store")) in the current transaction, with one `updated` event per checkout.

    The batch form of `activity_record`, for the automations dispatcher: a constant number of
    queries whatever the number of entries. The instances must be the rows read under the
    lock, so their `event_sequence` is current; they are updated in place.
    """
    if not entries:
        return []
    now = timezone.now()
    activities = _activities_build(entries, now=now, linked=True)
    # COPY, as the sweep writes its activities: nothing here reads their ids back (an event
    # carries each activity's type and time), so none is fetched.
    instances_insert(Activity, activities)
    # A checkout with one new activity and current stored JSON gets its entity from that JSON
    # (read before the row changes below): no latest-activities query, no rebuild.
    new = Counter(activity.abandoned_checkout.pk for activity in activities)
    entities = {
        ac.pk: entity
        for activity in activities
        if new[(ac := activity.abandoned_checkout).pk] == 1
        and (entity := wire_entity_logged(ac, activity, store=ac.store, updated_at=now)) is not None
    }
    checkouts: dict = {}
    for activity in activities:
        ac = checkouts.setdefault(activity.abandoned_checkout.pk, activity.abandoned_checkout)
        ac.last_activity_type, ac.last_activity_at, ac.updated_at = activity.type, now, now
    # One `updated` event per checkout, so each sequence moves by one. Checkouts whose newest
    # activity has the same type share one UPDATE: a handful of statements per batch, where
    # bulk_update would build a CASE per row and field.
    by_type: dict[str, list] = {}
    for ac in checkouts.values():
        ac.event_sequence += 1
        # A stale prefetch would hide the activities just written.
        ac.__dict__.pop("latest_activities", None)
        by_type.setdefault(ac.last_activity_type, []).append(ac.pk)
    for last_type, ids in by_type.items():
        AbandonedCheckout.objects.filter(pk__in=ids).update(
            updated_at=now,
            last_activity_type=last_type,
            last_activity_at=now,
            event_sequence=sequence_advance(1),
            **WIRE_DROPPED,
        )
    acs = list(checkouts.values())
    prefetch_related_objects([ac for ac in acs if ac.pk not in entities], latest_activities_prefetch())
    webhook_events_record(
        [
            event
            for ac in acs
            for event in entity_events_build(abandoned_checkout=ac, slugs=["updated"], entity=entities.get(ac.pk))
        ]
    )
    return activities
