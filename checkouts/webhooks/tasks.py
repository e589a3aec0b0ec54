"""Thin webhook tasks: they take ids, call the delivery service, and do nothing when there is nothing to do."""

import uuid

from celery import shared_task

from .attempts import webhook_deliveries_attempt, webhook_delivery_attempt
from .delivery import webhook_deliveries_claim_due

# Claimed per dispatcher run. The next run is queued behind this batch, so the queue holds
# about one batch at a time and no claim waits in it long enough for its lease to run out.
DISPATCH_BATCH = 200
# Deliveries per message: a Celery message costs milliseconds of broker round trips, more
# than a delivery to a fast receiver, so claims travel in small groups (sorted by endpoint).
DELIVERIES_PER_MESSAGE = 20


@shared_task
def webhook_delivery_send_task(delivery_id: int, lease_token: str | None = None) -> str | None:
    token = uuid.UUID(lease_token) if lease_token else None
    return webhook_delivery_attempt(delivery_id=delivery_id, lease_token=token)


@shared_task
def webhook_deliveries_send_task(claims: list[list]) -> int:
    return webhook_deliveries_attempt(claims=[(delivery_id, uuid.UUID(token)) for delivery_id, token in claims])


@shared_task
def webhook_deliveries_dispatch_task() -> int:
    """The sweeper (beat, every minute) and the wake-up for big batches: claim due deliveries, queue them."""
    claims = webhook_deliveries_claim_due(limit=DISPATCH_BATCH)
    for start in range(0, len(claims), DELIVERIES_PER_MESSAGE):
        group = claims[start : start + DELIVERIES_PER_MESSAGE]
        webhook_deliveries_send_task.delay([[delivery_id, str(token)] for delivery_id, token in group])
    if len(claims) == DISPATCH_BATCH:
        webhook_deliveries_dispatch_task.delay()
    return len(claims)
