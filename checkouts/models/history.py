"""What people did to an abandoned checkout, for its timeline: link opened, anonymised by whom."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .checkout import AbandonedCheckout
from .scope import StoreScopedQuerySet
from .store import Store


class TimelineEvent(models.Model):
    """One thing that happened to an abandoned checkout that is not an automation's Activity.

    Activity types are exactly Wix's enum and leave through the API; these stay on the
    dashboard. Who did it is kept as a member (and their username, which outlives the account).
    """

    class Kind(models.TextChoices):
        LINK_OPENED = "LINK_OPENED", "Opened the recovery link"
        ANONYMISED = "ANONYMISED", "Anonymised"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    abandoned_checkout = models.ForeignKey(
        AbandonedCheckout, on_delete=models.CASCADE, related_name="timeline_events", db_index=False
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["LINK_OPENED", "ANONYMISED"]), name="timeline_event_kind_valid"
            ),
        ]
        indexes = [
            # The detail page reads one checkout's newest events.
            models.Index(
                F("abandoned_checkout"), F("created_at").desc(), F("id").desc(), name="timeline_event_checkout"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.created_at:%Y-%m-%d %H:%M}"
