"""Webhooks: the outbox of events (written with each change), the endpoints, and each delivery's schedule."""

import uuid
from datetime import datetime

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from ..encryption import EncryptedTextField
from .scope import StoreScopedQuerySet
from .store import Store


class WebhookEvent(models.Model):
    """One Wix domain event (created / updated / deleted / recovered) waiting to be delivered."""

    class Type(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        DELETED = "deleted", "Deleted"
        RECOVERED = "recovered", "Recovered"

    ENTITY_FQDN = "wix.ecom.v1.abandoned_checkout"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="webhook_events", db_index=False)
    type = models.CharField(max_length=16, choices=Type.choices)
    # Not a foreign key: the event outlives a deleted abandoned checkout.
    entity_id = models.UUIDField()
    sequence = models.PositiveBigIntegerField(help_text="entityEventSequence: increases per entity.")
    payload = models.JSONField(help_text="The domain event body, exactly as delivered.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entity_id", "sequence"], name="webhook_event_sequence_unique"),
            # The last line of defence against a race: one created / recovered / deleted each.
            models.UniqueConstraint(
                fields=["entity_id", "type"],
                condition=Q(type__in=["created", "recovered", "deleted"]),
                name="webhook_event_once_per_entity",
            ),
            models.CheckConstraint(
                condition=Q(type__in=["created", "updated", "deleted", "recovered"]), name="webhook_event_type_valid"
            ),
        ]
        indexes = [
            models.Index(F("store"), F("created_at").desc(), name="webhook_event_store_created"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.entity_id} #{self.sequence}"

    @property
    def event_type(self) -> str:
        return f"wix.ecom.v1.abandoned_checkout_{self.type}"


class WebhookEndpoint(models.Model):
    """A URL a store's app listens on, the events it wants, and how its deliveries are signed."""

    class Format(models.TextChoices):
        STANDARD = "standard", "Standard Webhooks (HMAC-SHA256 headers)"
        WIX_JWT = "wix-jwt", "Wix (RS256 JWT body)"

    class DisabledReason(models.TextChoices):
        NONE = "", "—"
        GONE = "gone", "The endpoint answered 410 Gone"
        FAILING = "failing", "Every delivery failed for 3 days"

    SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, help_text="Slugs of WebhookEvent.Type this endpoint receives.")
    format = models.CharField(max_length=16, choices=Format.choices, default=Format.STANDARD)
    # Encrypted at rest (COMEBACK_ENCRYPTION_KEYS): a database dump does not give away the keys.
    secret = EncryptedTextField(editable=False)
    # During a rotation both secrets sign, so receivers can switch without losing a delivery.
    previous_secret = EncryptedTextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=16, choices=DisabledReason.choices, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # When the current run of failures began; cleared by any success. Drives the 3-day disable.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(format__in=["standard", "wix-jwt"]), name="webhook_endpoint_format_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return event_type in self.event_types

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a delivery made at `now`: the current one, and the previous during rotation."""
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and now < self.previous_secret_expires_at:
            secrets.append(self.previous_secret)
        return secrets


class WebhookDeliveryQuerySet(StoreScopedQuerySet):
    store_path = "endpoint__store"


class WebhookDelivery(models.Model):
    """One event on its way to one endpoint: the durable schedule of its attempts.

    `next_attempt_at` is when the sweeper may next claim the row: the retry time while
    PENDING, the lease expiry while DELIVERING (a worker that died loses its claim then).
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERING = "delivering", "Delivering"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled (endpoint disabled)"

    OPEN_STATES = (State.PENDING, State.DELIVERING)
    EXCERPT_BYTES = 1024

    id = models.BigAutoField(primary_key=True)
    # Neither key has an index of its own: the delivery log index leads with the endpoint and
    # the unique (event, endpoint) constraint with the event. Every index costs the sweep's
    # bulk insert, which writes one row per abandonment and endpoint.
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    # Copies of the event's columns (which never change), so ordering checks, filters and the
    # checkout timeline read one table through one index.
    entity_id = models.UUIDField()
    sequence = models.PositiveBigIntegerField()
    event_type = models.CharField(max_length=16, choices=WebhookEvent.Type.choices)
    # Database defaults too: the sweep's COPY writes only the columns that vary.
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Fences a claim: only the holder of the current token may record the outcome.
    lease_token = models.UUIDField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When the last attempt finished.")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response = models.TextField(
        blank=True, default="", db_default="", help_text="The first kilobyte of the last response body."
    )
    last_error = models.CharField(max_length=500, blank=True, default="", db_default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once_per_endpoint"),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "delivering", "succeeded", "failed", "cancelled"]),
                name="webhook_delivery_state_valid",
            ),
        ]
        indexes = [
            # The sweeper's claim: due rows only, so the index stays as small as the backlog.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "delivering"]),
                name="webhook_delivery_due",
            ),
            # Per-entity ordering checks and the checkout timeline.
            models.Index(fields=["entity_id", "endpoint", "sequence"], name="webhook_delivery_entity"),
            # The endpoint's delivery log, newest first, with or without a state filter.
            models.Index(F("endpoint"), F("id").desc(), name="webhook_delivery_log"),
            models.Index(F("endpoint"), F("state"), F("id").desc(), name="webhook_delivery_log_state"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.sequence} → {self.endpoint_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class WebhookAttemptQuerySet(StoreScopedQuerySet):
    store_path = "delivery__endpoint__store"


class WebhookAttempt(models.Model):
    """One try at sending a delivery, kept after a redelivery starts the delivery over."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log", db_index=False)
    attempted_at = models.DateTimeField()
    # The state the delivery was left in: succeeded, pending (a retry is scheduled), failed, cancelled.
    state = models.CharField(max_length=16, choices=WebhookDelivery.State.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    response = models.TextField(blank=True, default="")

    objects = WebhookAttemptQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["delivery", "attempted_at"], name="webhook_attempt_delivery")]
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.state}"
