"""The sending side of webhook delivery: attempts, their outcomes, the retry schedule, endpoint health."""

import logging
import random
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from . import http
from .delivery import bookkeeping_commits, nudge, wake_dispatcher, webhook_deliveries_release, webhook_delivery_start
from .notices import endpoint_disabled_notify
from .signing import signed_request

logger = logging.getLogger(__name__)
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
# A group of claimed deliveries stops starting attempts after this long and hands the rest
# back, so one slow endpoint (15 s per attempt at worst) cannot keep a worker for minutes.
GROUP_TIME_BOX = 30.0


def _loaded(ids: Iterable[int]) -> dict[int, WebhookDelivery]:
    """Deliveries with their event, endpoint and store, in one query.

    `has_following` says whether a later event of the same checkout waits for this endpoint,
    so only those deliveries spend a query on waking it. Deliveries to one endpoint share
    one endpoint object, so an endpoint disabled mid-group stops the rest of the group.
    """
    following = WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        entity_id=OuterRef("entity_id"),
        sequence__gt=OuterRef("sequence"),
        state=State.PENDING,
    )
    rows = WebhookDelivery.objects.select_related("event", "endpoint__store").annotate(has_following=Exists(following))
    deliveries = {delivery.pk: delivery for delivery in rows.filter(pk__in=list(ids))}
    endpoints: dict = {}
    for delivery in deliveries.values():
        delivery.endpoint = endpoints.setdefault(delivery.endpoint_id, delivery.endpoint)
    return deliveries


def webhook_delivery_attempt(
    *, delivery_id: int, lease_token: uuid.UUID | None = None, resolver: http.Resolver | None = None
) -> str | None:
    """Send one delivery once, if it is ours to send, and record what happened.

    Without a token the delivery is claimed here (the wake-up path); with one, the claim the
    sweeper made must still be ours. Returns the state it was left in, or None when there
    was nothing to do (already sent, not due, claimed by someone else, or held back by an
    earlier event of the same checkout).
    """
    with bookkeeping_commits():
        token = webhook_delivery_start(delivery_id=delivery_id, lease_token=lease_token, now=timezone.now())
        if token is None:
            return None
        delivery = _loaded([delivery_id])[delivery_id]
        return _attempt(delivery, token, resolver=resolver)


def webhook_deliveries_attempt(*, claims: list[tuple[int, uuid.UUID]], time_box: float = GROUP_TIME_BOX) -> int:
    """Attempt a group of claimed deliveries one after the other; returns how many were attempted."""
    stop_at = time.monotonic() + time_box
    deliveries = _loaded(delivery_id for delivery_id, _ in claims)
    # Deliveries to one receiver reuse its connection (keep-alive), re-checked each time.
    with http.Connections() as connections, bookkeeping_commits():
        for index, (delivery_id, token) in enumerate(claims):
            if time.monotonic() > stop_at:
                webhook_deliveries_release(claims=claims[index:])
                wake_dispatcher()
                return index
            delivery = deliveries.get(delivery_id)
            now = timezone.now()
            if delivery is None or webhook_delivery_start(delivery_id=delivery_id, lease_token=token, now=now) is None:
                continue
            delivery.attempts += 1
            _attempt(delivery, token, connections=connections)
    return len(claims)


def _attempt(
    delivery: WebhookDelivery,
    token: uuid.UUID,
    *,
    resolver: http.Resolver | None = None,
    connections: http.Connections | None = None,
) -> str | None:
    now = timezone.now()
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
    outcome = http.post(endpoint.url, request, resolver=resolver, connections=connections)
    return webhook_delivery_record(delivery=delivery, token=token, outcome=outcome)


def webhook_delivery_record(*, delivery: WebhookDelivery, token: uuid.UUID, outcome: http.AttemptResult) -> str | None:
    """Write an attempt's outcome: done, retry later (with backoff), failed, or endpoint disabled."""
    now = timezone.now()
    endpoint = delivery.endpoint
    if outcome.ok:
        if not _finish(delivery, token, state=State.SUCCEEDED, now=now, outcome=outcome):
            return None
        if endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
            endpoint.failing_since = None
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
        endpoint.failing_since = now
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
    outcome: http.AttemptResult | None = None,
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
    if finished:
        # The delivery row keeps only the last attempt; the log keeps each, redeliveries included.
        WebhookAttempt.objects.create(
            delivery_id=delivery.pk,
            attempted_at=now,
            state=state,
            status_code=fields.get("last_status_code"),
            error=fields["last_error"],
            response=fields.get("last_response", ""),
        )
    return bool(finished)


def _describe_failure(outcome: http.AttemptResult) -> str:
    if outcome.error:
        return outcome.error[:500]
    if outcome.ok:
        return ""
    if outcome.status and 300 <= outcome.status < 400:
        return f"HTTP {outcome.status}: redirects are not followed."
    return ""  # the status code says it all


def _release_next(delivery: WebhookDelivery) -> None:
    """Wake the next event of the same checkout for the same endpoint, which was waiting on this one."""
    if not getattr(delivery, "has_following", True):
        return
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


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, now: datetime | None = None) -> bool:
    """Switch an endpoint off (410 Gone, or failing for 3 days) and cancel what it had pending."""
    now = now or timezone.now()
    with transaction.atomic():
        disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(
            active=False, disabled_reason=reason, disabled_at=now, updated_at=now
        )
        webhook_deliveries_cancel_pending(endpoint=endpoint)
        endpoint.active = False
        if disabled:
            endpoint.disabled_reason, endpoint.disabled_at = reason, now
            logger.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)
            transaction.on_commit(lambda: endpoint_disabled_notify(endpoint=endpoint))
    return bool(disabled)


def webhook_deliveries_cancel_pending(*, endpoint: WebhookEndpoint) -> int:
    return WebhookDelivery.objects.filter(endpoint=endpoint, state=State.PENDING).update(
        state=State.CANCELLED, next_attempt_at=None, lease_token=None
    )
