"""The webhook outbox: every change to an abandoned checkout writes its event here, in the same transaction."""

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

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
