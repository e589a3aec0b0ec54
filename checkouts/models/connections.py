"""How a store's storefront reaches Comeback: a connection per platform (Wix, Shopify, Saleor, a script tag).

A connector turns what its platform sends (webhooks, a pulled page, a browser beacon) into ordinary
checkout events for the one ingest service; a connection holds what that needs: the platform's
addresses, the secrets that verify it, where a pull got to, and what happened last, for the status
the settings page shows.
"""

import secrets
import uuid
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..encryption import EncryptedTextField
from .scope import StoreScopedQuerySet
from .store import Store

# How long a rotated-out webhook URL (or publishable key) keeps working: long enough to paste the new
# one into the platform's admin without losing a delivery. The signature, not the URL, is what
# authenticates a delivery, so a day of overlap risks little.
TOKEN_GRACE = timedelta(hours=24)
# How long a replaced signing secret still verifies deliveries: Shopify says the old client secret may
# sign for up to an hour after a rotation, so a delivery already on its way is not refused.
SECRET_GRACE = timedelta(hours=1)


class ConnectionQuerySet(StoreScopedQuerySet):
    def active(self) -> "ConnectionQuerySet":
        return self.filter(status=Connection.Status.ACTIVE)

    def for_token(self, token: str) -> "ConnectionQuerySet":
        """The connection a receiver URL names: by its token, or by the one it replaced while in grace."""
        return self.filter(Q(token=token) | Q(previous_token=token, previous_token_until__gt=timezone.now()))


class Connection(models.Model):
    class Platform(models.TextChoices):
        WIX = "wix", "Wix"
        SHOPIFY = "shopify", "Shopify"
        SALEOR = "saleor", "Saleor"
        SCRIPT = "script", "Any storefront (comeback.js)"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="connections")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # The unguessable part of this connection's webhook URLs (/connect/<platform>/<token>/…) and, for a
    # script tag, of its publishable key (pk_<token>). Not a secret that signs anything.
    token = models.CharField(max_length=43, unique=True, editable=False)
    # The token a rotation replaced, still accepted until `previous_token_until` (TOKEN_GRACE), or ""
    # once refused ("rotate and refuse the old URL now", or the grace ended).
    previous_token = models.CharField(max_length=43, blank=True, default="", editable=False, db_index=True)
    previous_token_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Non-secret settings, per platform: site id and base URL (Wix), shop domain, API version and base
    # URL (Shopify), instance URL (Saleor), allowed origins and capture flags (script tag).
    settings = models.JSONField(default=dict, blank=True)
    # Encrypted at rest (COMEBACK_ENCRYPTION_KEYS): an API key or app secret that signs or reads, per
    # platform (Wix API key, Shopify client secret and Admin API token). Shown once or masked.
    secret = EncryptedTextField(blank=True, default="")
    # The signing secret the last replacement retired, still accepted until `previous_secret_until`
    # (SECRET_GRACE; Shopify only), encrypted like the current one; "" when there is none.
    previous_secret = EncryptedTextField(blank=True, default="", editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    # A second secret where a platform needs two (Shopify: the Admin API access token for backfills).
    secondary_secret = EncryptedTextField(blank=True, default="")
    # A public key the merchant pastes (Wix: the app's webhook public key, PEM). Not secret.
    public_key = models.TextField(blank=True, default="")
    # Where a pull sync got to (Wix: the newest updatedDate seen; Shopify: the last cursor).
    watermark = models.CharField(max_length=200, blank=True, default="")
    last_event_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, default="", editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(platform__in=["wix", "shopify", "saleor", "script"]), name="connection_platform_valid"
            ),
            models.CheckConstraint(condition=Q(status__in=["active", "paused"]), name="connection_status_valid"),
        ]

    def __str__(self) -> str:
        return self.name or self.get_platform_display()

    def save(self, *args, **kwargs) -> None:
        if not self.token:
            self.token = secrets.token_urlsafe(32)
        super().save(*args, **kwargs)

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class ConnectionReceiptQuerySet(StoreScopedQuerySet):
    store_path = "connection__store"


class ConnectionReceipt(models.Model):
    """One delivery a connection received (a webhook, a pulled page, a beacon), for de-duplication and status.

    `delivery_id` is the platform's id of the delivery where it gives one (Shopify's X-Shopify-Webhook-Id,
    Wix's event id); the unique constraint makes a replay a no-op. Rows older than the ingest
    de-duplication window are deleted by the retention task.

    It is also the webhook inbox: a receiver stores a verified delivery's checkout events in `events`
    (or its raw body in `payload`) and answers at once; the drain (`services.connection_inbox`) maps
    and ingests pending rows in batches and clears both. A row keeps them until they are ingested, so a
    worker that dies loses nothing.
    """

    id = models.BigAutoField(primary_key=True)
    # No index of its own: the unique (connection, delivery_id) and the recent index both lead with it.
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="receipts", db_index=False)
    delivery_id = models.CharField(max_length=200)
    topic = models.CharField(max_length=100, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    ok = models.BooleanField(default=True)
    # The checkout events still to ingest (SQL NULL once drained, or for a delivery taken inline).
    events = models.JSONField(null=True, blank=True, editable=False)
    # Or the delivery's body as the platform sent it (Shopify's JSON, Wix's JWT), verified but not yet
    # mapped: the drain maps it, so the receiving request does no more than check and store it.
    payload = models.TextField(null=True, blank=True, editable=False)

    objects = ConnectionReceiptQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "delivery_id"], name="connection_receipt_unique"),
        ]
        indexes = [
            models.Index(fields=["connection", "-received_at"], name="connection_receipt_recent"),
            # The drain's queue: only pending rows, oldest first, so it stays small however many are kept.
            models.Index(
                fields=["id"],
                condition=Q(events__isnull=False) | Q(payload__isnull=False),
                name="connection_receipt_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic or 'delivery'} {self.delivery_id}"
