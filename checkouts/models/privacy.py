"""What the privacy tools leave behind: a record that a buyer was erased, without the buyer."""

import hashlib
import hmac

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone

from .scope import StoreScopedQuerySet
from .store import Store

# Domain separation: the same SECRET_KEY signs sessions and tokens; this key only hashes addresses.
_DIGEST_SALT = b"comeback.privacy.email"


def email_digests(email: str) -> list[str]:
    """Keyed hashes (HMAC-SHA256) of a normalised address: under SECRET_KEY, then each fallback key.

    A lookup matches any of them, so rotating SECRET_KEY (with the old one in
    SECRET_KEY_FALLBACKS) keeps finding rows hashed before the rotation.
    """
    normalised = email.strip().lower().encode()
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [
        hmac.new(hashlib.sha256(_DIGEST_SALT + str(key).encode()).digest(), normalised, hashlib.sha256).hexdigest()
        for key in keys
    ]


def email_digest(email: str) -> str:
    """The keyed hash of an address under the current SECRET_KEY (what new rows store)."""
    return email_digests(email)[0]


class ErasureRecord(models.Model):
    """Proof that a buyer's data was erased: when, by whom, how much, and a keyed hash of the address.

    Never the address itself: the hash lets the merchant answer "was this person erased?" by
    hashing the address they are asked about, and nothing else.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    email_hash = models.CharField(max_length=64, help_text="HMAC-SHA256 of the lower-cased address.")
    erased_at = models.DateTimeField(default=timezone.now)
    # Who asked: a member (the dashboard or a session API call), or an API key's name.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    # Rows touched per kind: {"abandonedCheckouts": 2, "checkouts": 3, "sentEmails": 1, ...}.
    counts = models.JSONField(default=dict)

    # How the dashboard names each kind of row counted, in the order it lists them.
    COUNT_LABELS = {
        "abandonedCheckouts": "Abandoned checkouts",
        "checkouts": "Checkouts",
        "activities": "Activities",
        "scheduledStepsCancelled": "Pending steps cancelled",
        "scheduledSteps": "Step errors cleared",
        "sentEmails": "Emails sent",
        "tasks": "Tasks",
        "notifications": "Notifications",
        "webhookEvents": "Webhook events",
        "webhookDeliveries": "Webhook delivery logs",
        "unsubscribes": "Unsubscribes",
        "adminLogEntries": "Admin log entries",
    }

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(F("store"), F("erased_at").desc(), F("id").desc(), name="erasure_store_erased"),
            models.Index(fields=["store", "email_hash"], name="erasure_store_email_hash"),
        ]

    def __str__(self) -> str:
        return f"erasure {self.pk} at {self.erased_at:%Y-%m-%d %H:%M}"

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def labelled_counts(self) -> list[tuple[str, int]]:
        """(label, count) per kind, known kinds first in COUNT_LABELS' order, then any other."""
        order = list(self.COUNT_LABELS)
        kinds = sorted(self.counts, key=lambda kind: (order.index(kind) if kind in order else len(order), kind))
        return [(self.COUNT_LABELS.get(kind, kind), self.counts[kind]) for kind in kinds]
