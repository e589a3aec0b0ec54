"""Wix apps registered in Comeback: client credentials that trade for a store's access token (OAuth 2)."""

import hashlib
import hmac
import secrets
import uuid

from django.db import models
from django.utils import timezone

from .store import ApiKey, Store


def new_client_id() -> str:
    return str(uuid.uuid4())


class OAuthAppQuerySet(models.QuerySet):
    def active(self) -> "OAuthAppQuerySet":
        return self.filter(is_active=True)


class OAuthApp(models.Model):
    """An app (Wix's `client_id`) installed on some stores; its secret is kept only as a hash.

    `POST /oauth2/token` with the client credentials and an `instance_id` (a store it is
    installed on) returns an access token that acts for that store with the app's scopes.
    """

    name = models.CharField(max_length=100)
    # Wix app ids are GUIDs; SDKs pass them through as `appId`.
    client_id = models.CharField(max_length=64, unique=True, default=new_client_id, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, help_text="Any of: read, delete, ingest.")
    # The stores (Wix: site instances) it may act for.
    stores = models.ManyToManyField(Store, related_name="oauth_apps", blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OAuthAppQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "OAuth app"

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @staticmethod
    def hash_secret(secret: str) -> str:
        # 256 random bits, as for API keys: a fast hash is as strong as a slow one here.
        return hashlib.sha256(secret.encode()).hexdigest()

    def set_new_secret(self) -> str:
        """Give the app a fresh secret and return it (it is shown once, never stored)."""
        secret = secrets.token_urlsafe(32)
        self.secret_hash = self.hash_secret(secret)
        return secret

    def matches(self, secret: str) -> bool:
        return bool(self.secret_hash) and hmac.compare_digest(self.secret_hash, self.hash_secret(secret))

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes and scope in ApiKey.Scope.values
