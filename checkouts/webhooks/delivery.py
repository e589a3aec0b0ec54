"""Delivering outbox events: fan-out to endpoints, claims, attempts, retries, endpoint health.

The database is the schedule. A delivery row is created with its event (same transaction);
a Celery message only wakes a worker up. A worker claims the row with a conditional UPDATE
that also hands it a lease token; only the token's holder may record the outcome, so a
claim that outlives its lease (a worker killed mid-attempt) is simply claimed again by the
sweeper, and a stale or duplicated message does nothing.

Ordering rule, per endpoint and checkout: a delivery is not claimed while an earlier event
of the same checkout for the same endpoint is still open (pending or in flight) and has
not yet failed an attempt. So a healthy endpoint gets a checkout's events in
`entityEventSequence` order, while one failing event holds the later ones back only until
its first attempt fails; after that they go, and the receiver drops whatever arrives stale
by comparing `entityEventSequence`.
"""

import logging
import random
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from ..models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from . import http
from .signing import signed_request

logger = logging.getLogger(__name__)

Delivery = WebhookDelivery
State = WebhookDelivery.State

# The wait after each failed attempt (Standard Webhooks / Svix style), each with ±20 %
# jitter so a receiver coming back up is not hit by every retry in the same second.
RETRY_DELAYS = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=24),
]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.2
# A receiver's Retry-After is honoured up to the longest step of the schedule.
RETRY_AFTER_CAP = RETRY_DELAYS[-1]
# An endpoint that has failed every attempt for this long is switched off.
DISABLE_AFTER = timedelta(days=3)
# Up to this many new deliveries get one wake-up message each; a bigger batch (the sweep's)
# gets one dispatch message, so a commit never publishes thousands of messages.
NUDGE_EACH_UP_TO = 20


def lease() -> timedelta:
    return timedelta(seconds=settings.COMEBACK_WEBHOOK_LEASE_SECONDS)


# --- Fan-out (inside the transaction that wrote the events) ----------------------------------


def webhook_deliveries_create(*, events: list[WebhookEvent]) -> list[WebhookDelivery]:
    """One delivery per event and subscribed active endpoint: one query, one bulk insert."""
    store_ids = {event.store_id for event in events}
    endpoints_by_store: dict = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.filter(store_id__in=store_ids, active=True).only(
        "id", "store_id", "event_types"
    ):
        endpoints_by_store[endpoint.store_id].append(endpoint)
    if not endpoints_by_store:
        return []
    deliveries = [
        WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=event.id,
            entity_id=event.entity_id,
            sequence=event.sequence,
            event_type=event.type,
            next_attempt_at=event.created_at,
            created_at=event.created_at,
        )
        for event in events
        for endpoint in endpoints_by_store.get(event.store_id, ())
        if endpoint.wants(event.type)
    ]
    WebhookDelivery.objects.bulk_create(deliveries)
    if deliveries:
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: nudge(ids))
    return deliveries


def nudge(delivery_ids: Iterable[int]) -> None:
    """Wake workers up for these deliveries. A lost message only delays: the sweeper finds the row."""
    from .tasks import webhook_delivery_send_task

    ids = list(delivery_ids)
    if len(ids) > NUDGE_EACH_UP_TO:
        wake_dispatcher()
        return
    try:
        for delivery_id in ids:
            webhook_delivery_send_task.delay(delivery_id)
    except Exception:  # the broker is down: the rows are durable, the next sweep picks them up
        logger.warning("Could not publish webhook wake-ups; the sweeper will pick them up", exc_info=True)


def wake_dispatcher() -> None:
    """One message that makes a worker claim and queue every due delivery, in batches."""
    from .tasks import webhook_deliveries_dispatch_task

    try:
        webhook_deliveries_dispatch_task.delay()
    except Exception:  # the broker is down: the beat sweep runs the dispatcher within a minute
        logger.warning("Could not publish the webhook dispatcher; the sweeper will run it", exc_info=True)


# --- Claims --------------------------------------------------------------------------------


def _earlier_unsettled() -> Exists:
    """An earlier event of the same checkout for the same endpoint, open and never yet failed."""
    return Exists(
        WebhookDelivery.objects.filter(
            endpoint_id=OuterRef("endpoint_id"),
            entity_id=OuterRef("entity_id"),
            sequence__lt=OuterRef("sequence"),
            state__in=WebhookDelivery.OPEN_STATES,
            last_attempt_at__isnull=True,
        )
    )


def _due(now: datetime):
    return WebhookDelivery.objects.filter(state__in=WebhookDelivery.OPEN_STATES, next_attempt_at__lte=now).filter(
        ~_earlier_unsettled()
    )


def webhook_deliveries_claim_due(*, limit: int, now: datetime | None = None) -> list[tuple[int, uuid.UUID]]:
    """Claim up to `limit` due deliveries (new, retrying, or with an expired lease) for sending.

    FOR UPDATE SKIP LOCKED lets several sweepers run at once without claiming a row twice.
    Returns (delivery id, lease token) pairs to put on the queue.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            _due(now)
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        claims = [(delivery_id, uuid.uuid4()) for delivery_id in ids]
        expires = now + lease()
        # One UPDATE per row: each row gets its own token. Rows are few (a batch) and locked.
        for delivery_id, token in claims:
            WebhookDelivery.objects.filter(pk=delivery_id).update(
                state=State.DELIVERING, lease_token=token, next_attempt_at=expires
            )
    return claims


def _start(*, delivery_id: int, lease_token: uuid.UUID | None, now: datetime) -> uuid.UUID | None:
    """Begin an attempt: take (or confirm) the claim and count the attempt. None if not ours to send."""
    expires = now + lease()
    if lease_token is not None:
        started = WebhookDelivery.objects.filter(pk=delivery_id, state=State.DELIVERING, lease_token=lease_token)
        token = lease_token
    else:
        started = _due(now).filter(pk=delivery_id, state=State.PENDING)
        token = uuid.uuid4()
    count = started.update(
        state=State.DELIVERING, lease_token=token, next_attempt_at=expires, attempts=F("attempts") + 1
    )
    return token if count else None


# --- One attempt ---------------------------------------------------------------------------


def webhook_delivery_attempt(
    *, delivery_id: int, lease_token: uuid.UUID | None = None, resolver: http.Resolver | None = None
) -> str | None:
    """Send one delivery once, if it is ours to send, and record what happened.

    Returns the state it was left in, or None when there was nothing to do (already sent,
    not due yet, claimed by someone else, or held back by an earlier event).
    """
    now = timezone.now()
    token = _start(delivery_id=delivery_id, lease_token=lease_token, now=now)
    if token is None:
        return None
    delivery = WebhookDelivery.objects.select_related("event", "endpoint__store").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.active:
        _finish(delivery, token, state=State.CANCELLED, now=now, error="The endpoint was disabled.")
        return State.CANCELLED
    event = delivery.event
    request = signed_request(
        endpoint=endpoint,
        store=endpoint.store,
        msg_id=str(event.pk),
        event_type=event.event_type,
        payload=event.payload,
        now=now,
    )
    outcome = http.post(endpoint.url, request, resolver=resolver)
    return webhook_delivery_record(delivery=delivery, token=token, outcome=outcome)


def webhook_delivery_record(*, delivery: WebhookDelivery, token: uuid.UUID, outcome: http.Outcome) -> str | None:
    """Write an attempt's outcome: done, retry later (with backoff), failed, or endpoint disabled."""
    now = timezone.now()
    endpoint = delivery.endpoint
    if outcome.ok:
        if not _finish(delivery, token, state=State.SUCCEEDED, now=now, outcome=outcome):
            return None
        if endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
        _release_next(delivery)
        return State.SUCCEEDED

    if outcome.status == 410:
        _finish(delivery, token, state=State.FAILED, now=now, outcome=outcome)
        webhook_endpoint_disable(endpoint=endpoint, reason=WebhookEndpoint.DisabledReason.GONE, now=now)
        return State.FAILED

    if delivery.attempts >= MAX_ATTEMPTS:
        state, next_at = State.FAILED, None
    else:
        state, next_at = State.PENDING, now + retry_delay(attempts=delivery.attempts, retry_after=outcome.retry_after)
    if not _finish(delivery, token, state=state, now=now, outcome=outcome, next_attempt_at=next_at):
        return None
    if endpoint.failing_since is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    elif now - endpoint.failing_since >= DISABLE_AFTER:
        webhook_endpoint_disable(endpoint=endpoint, reason=WebhookEndpoint.DisabledReason.FAILING, now=now)
    # The first failure frees this checkout's later events for this endpoint.
    if delivery.attempts == 1:
        _release_next(delivery)
    return state


def _finish(
    delivery: WebhookDelivery,
    token: uuid.UUID,
    *,
    state: str,
    now: datetime,
    outcome: http.Outcome | None = None,
    next_attempt_at: datetime | None = None,
    error: str = "",
) -> bool:
    """Record the outcome if we still hold the claim (a lease that ran out may have passed it on)."""
    fields = {
        "state": state,
        "next_attempt_at": next_attempt_at,
        "lease_token": None,
        "last_attempt_at": now,
        "last_error": error,
    }
    if outcome is not None:
        fields.update(
            last_status_code=outcome.status,
            last_response=outcome.excerpt[: WebhookDelivery.EXCERPT_BYTES],
            last_error=_describe_failure(outcome),
        )
    if state == State.SUCCEEDED:
        fields["delivered_at"] = now
    finished = WebhookDelivery.objects.filter(pk=delivery.pk, state=State.DELIVERING, lease_token=token).update(
        **fields
    )
    return bool(finished)


def _describe_failure(outcome: http.Outcome) -> str:
    if outcome.error:
        return outcome.error[:500]
    if outcome.ok:
        return ""
    if outcome.status and 300 <= outcome.status < 400:
        return f"HTTP {outcome.status}: redirects are not followed."
    return f"HTTP {outcome.status}"


def _release_next(delivery: WebhookDelivery) -> None:
    """Wake the next event of the same checkout for the same endpoint, which was waiting on this one."""
    following = list(
        WebhookDelivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            entity_id=delivery.entity_id,
            sequence__gt=delivery.sequence,
            state=State.PENDING,
        )
        .order_by("sequence")
        .values_list("id", flat=True)[:1]
    )
    if following:
        transaction.on_commit(lambda: nudge(following))


def retry_delay(*, attempts: int, retry_after: str | None = None) -> timedelta:
    """The wait after the `attempts`-th failed attempt: the schedule's step with jitter,
    or the receiver's Retry-After when that is longer (capped at the schedule's longest step)."""
    step = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    delay = step * random.uniform(1 - JITTER, 1 + JITTER)
    asked = parse_retry_after(retry_after)
    if asked is not None:
        delay = max(delay, min(asked, RETRY_AFTER_CAP))
    return delay


def parse_retry_after(value: str | None) -> timedelta | None:
    """Retry-After as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(timedelta(0), when - timezone.now())


# --- Endpoint health -----------------------------------------------------------------------


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, now: datetime | None = None) -> bool:
    """Switch an endpoint off (410 Gone, or failing for 3 days) and cancel what it had pending."""
    from .notices import endpoint_disabled_notify

    now = now or timezone.now()
    with transaction.atomic():
        disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(
            active=False, disabled_reason=reason, disabled_at=now, updated_at=now
        )
        webhook_deliveries_cancel_pending(endpoint=endpoint)
        if disabled:
            endpoint.active, endpoint.disabled_reason, endpoint.disabled_at = False, reason, now
            logger.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)
            transaction.on_commit(lambda: endpoint_disabled_notify(endpoint=endpoint))
    return bool(disabled)


def webhook_deliveries_cancel_pending(*, endpoint: WebhookEndpoint) -> int:
    return WebhookDelivery.objects.filter(endpoint=endpoint, state=State.PENDING).update(
        state=State.CANCELLED, next_attempt_at=None, lease_token=None
    )
