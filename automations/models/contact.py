"""How often, when and with whose consent a buyer may be contacted: per-store rules and records."""

import re
from datetime import time

from django.db import models
from django.utils import timezone

from checkouts.models import Store
from checkouts.models.privacy import email_digest, email_digests
from checkouts.models.scope import StoreScopedQuerySet

_NOT_PHONE_DIGITS = re.compile(r"[^\d+]")


def phone_digests(phone: str) -> list[str]:
    """Keyed hashes of a phone number with its spacing and punctuation dropped ("+33 6 12" = "+33612")."""
    # The "tel:" prefix keeps a number's hash apart from any address's.
    return email_digests("tel:" + _NOT_PHONE_DIGITS.sub("", phone))


def buyer_key(*, email: str, phone: str) -> str:
    """Who the buyer is for the frequency cap: their address's keyed hash, else their phone's, else ""."""
    if email:
        return email_digest(email)
    if _NOT_PHONE_DIGITS.sub("", phone):
        return phone_digests(phone)[0]
    return ""


class ContactPolicy(models.Model):
    """A store's rules for contacting buyers. A store without a row has the defaults."""

    store = models.OneToOneField(Store, primary_key=True, on_delete=models.CASCADE, related_name="+")
    window_hours = models.PositiveSmallIntegerField(
        default=16,
        help_text="At most one recovery message (email or text, automated or by hand) per buyer within "
        "this many hours. 0 turns the cap off.",
    )
    quiet_hours = models.BooleanField(default=True, help_text="Hold messages due at night until the morning.")
    day_starts = models.TimeField(default=time(8, 0), help_text="Messages may go out from this time…")
    day_ends = models.TimeField(
        default=time(21, 0),
        help_text="…until this time, in the buyer's time zone when the storefront sends it, else the store's.",
    )
    require_email_consent = models.BooleanField(
        default=False,
        help_text="Email only buyers whose storefront said they accepted marketing emails.",
    )

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "contact policies"

    def __str__(self) -> str:
        return f"contact policy of {self.store_id}"


class ContactLedger(models.Model):
    """When a buyer (by keyed hash, never the address) last got a recovery message from a store.

    Senders lock the row before deciding, so two workers, or a worker and a click, cannot both
    write to the buyer within the store's window.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    buyer_key = models.CharField(max_length=64)
    last_contacted_at = models.DateTimeField(null=True, blank=True)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "buyer_key"], name="contact_ledger_once_per_buyer")]

    def __str__(self) -> str:
        return f"{self.buyer_key[:12]}… last contacted {self.last_contacted_at}"


class TextOptOut(models.Model):
    """A phone number that must get no more texts from this store, found by keyed hash."""

    class Source(models.TextChoices):
        STOP = "STOP", "STOP reply reported by the SMS gateway"
        STAFF = "STAFF", "Added by staff"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    phone_hash = models.CharField(max_length=64)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.STOP)
    created_at = models.DateTimeField(default=timezone.now)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "phone_hash"], name="text_opt_out_once_per_store")]

    def __str__(self) -> str:
        return f"text opt-out {self.phone_hash[:12]}…"
