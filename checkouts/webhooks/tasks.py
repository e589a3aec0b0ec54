"""Thin webhook tasks: they take ids, call one service, and do nothing when there is nothing to do."""

import uuid

from celery import shared_task

from .delivery import webhook_deliveries_claim_due, webhook_delivery_attempt

# Claimed per dispatcher run. The next run is queued behind this batch, so the queue holds
# about one batch at a time and no claim waits in it long enough for its lease to run out.
DISPATCH_BATCH = 200


@shared_task
def webhook_delivery_send_task(delivery_id: int, lease_token: str | None = None) -> str | None:
    return webhook_delivery_attempt(
        delivery_id=delivery_id, lease_token=uuid.UUID(lease_token) if lease_token else None
    )


@shared_task
def webhook_deliveries_dispatch_task() -> int:
    """The sweeper (beat, every minute) and the wake-up for big batches: claim due deliveries, queue them."""
    claims = webhook_deliveries_claim_due(limit=DISPATCH_BATCH)
    for delivery_id, token in claims:
        webhook_delivery_send_task.delay(delivery_id, str(token))
    if len(claims) == DISPATCH_BATCH:
        webhook_deliveries_dispatch_task.delay()
    return len(claims)
