"""What buyers did with the emails: counted clicks, and which email a recovery is credited to."""

from django.db import models
from django.db.models import F
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Store
from checkouts.models.checkout import AMOUNT
from checkouts.models.scope import StoreScopedQuerySet

from .records import SentEmail


class EmailClickQuerySet(StoreScopedQuerySet):
    store_path = "sent_email__store"


class EmailClick(models.Model):
    """One counted click on an email's recovery link (the link names the email in its signed token).

    Only clicks the recovery link counts are here: once per visitor within
    COMEBACK_CLICK_WINDOW_MINUTES, scanners and prefetches left out. A row per click, not a
    counter, so attribution can find the last click before a recovery however late the
    recovery is learnt of.
    """

    sent_email = models.ForeignKey(SentEmail, on_delete=models.CASCADE, related_name="clicks", db_index=False)
    clicked_at = models.DateTimeField(default=timezone.now)

    objects = EmailClickQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(F("sent_email"), F("clicked_at").desc(), name="email_click_latest")]

    def __str__(self) -> str:
        return f"click on email {self.sent_email_id} at {self.clicked_at:%Y-%m-%d %H:%M}"


class RecoveryAttribution(models.Model):
    """The email a recovery is credited to, decided once when the checkout is recovered.

    See `automations.services.attribution.recovery_attribute` for the rule. `revenue` is the
    checkout's total at that moment, in the store's currency, kept here so the funnel adds
    revenue up without reading the checkouts.
    """

    class Via(models.TextChoices):
        CLICK = "CLICK", "Last email clicked"
        SEND = "SEND", "Last email sent"

    abandoned_checkout = models.OneToOneField(
        AbandonedCheckout, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    sent_email = models.OneToOneField(SentEmail, on_delete=models.CASCADE, related_name="attribution")
    via = models.CharField(max_length=8, choices=Via.choices)
    revenue = models.DecimalField(**AMOUNT)
    recovered_at = models.DateTimeField()

    objects = StoreScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.abandoned_checkout_id} credited to email {self.sent_email_id} ({self.via})"
