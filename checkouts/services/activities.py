"""Appending automation activities to an abandoned checkout's log."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..bulk import bulk_insert
from ..models import AbandonedCheckout, Activity
from ..selectors import activities_latest
from .outbox import webhook_event_build, webhook_events_record


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
            event_sequence=F("event_sequence") + 1,
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
        webhook_events_record(
            [
                webhook_event_build(
                    abandoned_checkout=ac,
                    slug="updated",
                    sequence=ac.event_sequence,
                    activities=activities_latest(abandoned_checkout_id=ac.pk),
                )
            ]
        )
    return activity


def activities_record_bulk(entries: Sequence[ActivityEntry]) -> list[Activity]:
    """Log activities for abandoned checkouts created in this same transaction.

    No `updated` event: the `created` event that follows in the same transaction already
    carries them. The new activities are kept on each instance (`latest_activities`) so
    that event renders them without another query.
    """
    now = timezone.now()
    activities = [
        Activity(
            store_id=entry.abandoned_checkout.store_id,
            abandoned_checkout=entry.abandoned_checkout,
            type=entry.type,
            reason=entry.reason,
            detail=entry.detail,
            created_at=now,
        )
        for entry in entries
    ]
    bulk_insert(Activity, activities)
    by_type: dict[str, list] = {}
    for entry, activity in zip(entries, activities, strict=True):
        ac = entry.abandoned_checkout
        ac.latest_activities = [activity, *getattr(ac, "latest_activities", [])]
        ac.last_activity_type, ac.last_activity_at = activity.type, now
        by_type.setdefault(activity.type, []).append(ac.pk)
    for activity_type, ids in by_type.items():
        AbandonedCheckout.objects.filter(pk__in=ids).update(last_activity_type=activity_type, last_activity_at=now)
    return activities
