"""Every write the webhook settings pages make: endpoints, secrets, test events, redeliveries."""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ..models import AbandonedCheckout, Store, WebhookDelivery, WebhookEndpoint, WebhookEvent
from ..services.outbox import webhook_event_build
from .attempts import webhook_deliveries_cancel_pending
from .delivery import nudge, wake_dispatcher
from .signing import secret_generate

# During a rotation the old secret keeps signing for this long, next to the new one.
ROTATION_WINDOW = timedelta(hours=24)
State = WebhookDelivery.State


def webhook_endpoint_create(
    *, store: Store, url: str, event_types: list[str], format: str, description: str = "", active: bool = True
) -> WebhookEndpoint:
    """A new endpoint with its own secret (the spec: one signing key per endpoint)."""
    return WebhookEndpoint.objects.create(
        store=store,
        url=url,
        event_types=_ordered(event_types),
        format=format,
        description=description,
        active=active,
        secret=secret_generate(),
    )


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, url: str, event_types: list[str], format: str, description: str, active: bool
) -> WebhookEndpoint:
    """Save the form. Switching an endpoint off cancels what it had pending; switching it on clears the notice."""
    now = timezone.now()
    with transaction.atomic():
        was_active = endpoint.active
        endpoint.url, endpoint.event_types, endpoint.format = url, _ordered(event_types), format
        endpoint.description, endpoint.active, endpoint.updated_at = description, active, now
        if active:
            endpoint.disabled_reason, endpoint.disabled_at, endpoint.failing_since = "", None, None
        endpoint.save()
        if was_active and not active:
            webhook_deliveries_cancel_pending(endpoint=endpoint)
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret; the old one keeps signing (a second `v1,` signature) for 24 hours."""
    now = timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_WINDOW
    endpoint.secret = secret_generate()
    endpoint.updated_at = now
    endpoint.save(update_fields=["previous_secret", "previous_secret_expires_at", "secret", "updated_at"])
    return endpoint


def webhook_endpoint_send_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Deliver a real, signed event about a sample checkout to this endpoint only, logged like any other."""
    store = endpoint.store
    slug = next((t for t in WebhookEvent.Type.values if endpoint.wants(t)), WebhookEvent.Type.CREATED)
    sample = _sample_checkout(store)
    with transaction.atomic():
        event = webhook_event_build(abandoned_checkout=sample, slug=slug, sequence=1, store=store, activities=[])
        event.save(force_insert=True)
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=event,
            entity_id=event.entity_id,
            sequence=event.sequence,
            event_type=event.type,
            next_attempt_at=event.created_at,
            created_at=event.created_at,
        )
        transaction.on_commit(lambda: nudge([delivery.pk]))
    return delivery


def webhook_delivery_redeliver(*, delivery: WebhookDelivery) -> bool:
    """Send one delivery again now, with a fresh schedule. False while it is in flight."""
    now = timezone.now()
    with transaction.atomic():
        queued = WebhookDelivery.objects.filter(
            pk=delivery.pk, state__in=[State.PENDING, State.SUCCEEDED, State.FAILED, State.CANCELLED]
        ).update(state=State.PENDING, attempts=0, next_attempt_at=now, lease_token=None)
        if queued:
            transaction.on_commit(lambda: nudge([delivery.pk]))
    return bool(queued)


def webhook_deliveries_redeliver_failed(*, endpoint: WebhookEndpoint) -> int:
    """Queue every failed or cancelled delivery of the endpoint again; the dispatcher sends them."""
    now = timezone.now()
    with transaction.atomic():
        queued = WebhookDelivery.objects.filter(endpoint=endpoint, state__in=[State.FAILED, State.CANCELLED]).update(
            state=State.PENDING, attempts=0, next_attempt_at=now, lease_token=None
        )
        if queued:
            transaction.on_commit(wake_dispatcher)
    return queued


def _ordered(event_types: list[str]) -> list[str]:
    return [t for t in WebhookEvent.Type.values if t in set(event_types)]


def _sample_checkout(store: Store) -> AbandonedCheckout:
    """An unsaved abandoned checkout with plausible data, rendered by the one Wix serializer."""
    now = timezone.now()
    entity_id = uuid.uuid4()
    sample = AbandonedCheckout(
        id=entity_id,
        store=store,
        checkout_external_id=f"test-{entity_id.hex[:12]}",
        status=AbandonedCheckout.Status.ABANDONED,
        buyer_email="test.buyer@example.com",
        first_name="Test",
        last_name="Buyer",
        buyer_language=store.language,
        currency=store.currency,
        subtotal=Decimal("42.00"),
        total=Decimal("42.00"),
        created_at=now - timedelta(hours=1),
        updated_at=now,
        line_items=[
            {
                "id": "test-line-1",
                "quantity": 1,
                "productName": {"original": "Test product"},
                "price": {"amount": "42"},
            }
        ],
    )
    return sample
