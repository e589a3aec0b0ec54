"""Tenants and who may act for them: stores, memberships and API keys."""

import hashlib
import hmac
import re
import secrets
import uuid
import zoneinfo
from datetime import timedelta

from babel.core import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..encryption import EncryptedTextField
from ..hosts import host_of, image_url_allowed, url_on_hosts, validate_hosts
from .scope import StoreScopedQuerySet

CURRENCIES = frozenset(list_currencies())


def validate_currency(value: str) -> None:
    if value not in CURRENCIES:
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code.", code="currency")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone.", code="time_zone")


def validate_language(value: str) -> None:
    try:
        Locale.parse(value.replace("-", "_"))
    except (UnknownLocaleError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not a known language.", code="language") from exc


def _rsa_key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


# Characters that have no place in a one-line header value (C0/C1 controls, line separators).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class Store(models.Model):
    """A merchant's shop: the tenant every other record belongs to. Its id is Wix's metasiteId."""

    class RecoveryRule(models.TextChoices):
        SAME_CHECKOUT = "SAME_CHECKOUT", "The buyer completes the same checkout"
        ANY_ORDER_WITHIN_DAYS = "ANY_ORDER_WITHIN_DAYS", "Any order by the same email within N days"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    language = models.CharField(max_length=16, default="en", validators=[validate_language])
    storefront_url = models.URLField(blank=True)
    storefront_hosts = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_hosts],
        help_text="Hosts the recovery link may redirect to and line-item images may load from: "
        "the shop and its media hosts (e.g. static.wixstatic.com). The storefront URL's host is always one.",
    )
    abandon_after = models.DurationField(
        default=timedelta(minutes=60),
        help_text="How long a checkout must be idle before it counts as abandoned.",
    )
    recovery_rule = models.CharField(max_length=32, choices=RecoveryRule.choices, default=RecoveryRule.SAME_CHECKOUT)
    recovery_window_days = models.PositiveSmallIntegerField(
        default=7, help_text="For the 'any order' rule: how many days after abandonment count."
    )
    attribution_window_days = models.PositiveSmallIntegerField(
        default=5, help_text="A recovery is credited to the last email clicked, else sent, this many days before it."
    )
    # Encrypted at rest (COMEBACK_ENCRYPTION_KEYS): whoever holds it can sign as this store.
    webhook_private_key = EncryptedTextField(editable=False, blank=True)
    webhook_public_key = models.TextField(editable=False, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(abandon_after__gte=timedelta(minutes=1)),
                name="store_abandon_after_at_least_a_minute",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.storefront_hosts and host_of(self.storefront_url):
            self.storefront_hosts = [host_of(self.storefront_url)]
        if not self.webhook_private_key:
            self.webhook_private_key, self.webhook_public_key = _rsa_key_pair()
        super().save(*args, **kwargs)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def allowed_hosts(self) -> frozenset[str]:
        """The storefront hosts, and the storefront URL's own host (the merchant typed it)."""
        return frozenset([*self.storefront_hosts, host_of(self.storefront_url)]) - {""}

    def allows_redirect_to(self, url: str) -> bool:
        return url_on_hosts(url, self.allowed_hosts)

    def allows_image(self, url: str) -> bool:
        return image_url_allowed(url, self.allowed_hosts)

    @property
    def header_name(self) -> str:
        """The name on one line, for email headers and file names.

        The settings form refuses line breaks, but a name saved another way (the admin, an old
        row) must still never end an email header early or make the mailer refuse the message.
        """
        return " ".join(_CONTROL.sub(" ", self.name).split())


class Membership(models.Model):
    """A user's role in a store."""

    class Role(models.TextChoices):
        OWNER = "OWNER", "Owner"
        MANAGER = "MANAGER", "Manager"
        VIEWER = "VIEWER", "Viewer"

    # Higher ranks may do everything lower ranks may.
    RANK = {Role.VIEWER: 1, Role.MANAGER: 2, Role.OWNER: 3}

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "store"], name="membership_one_per_user_and_store"),
            models.CheckConstraint(condition=Q(role__in=["OWNER", "MANAGER", "VIEWER"]), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.store} ({self.get_role_display()})"

    def allows(self, role: str) -> bool:
        return self.RANK[self.role] >= self.RANK[role]


class ApiKeyQuerySet(StoreScopedQuerySet):
    def active(self) -> "ApiKeyQuerySet":
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A store's API key. Only a hash of the secret is kept; the key is shown once, at creation."""

    class Scope(models.TextChoices):
        READ = "read", "Read (ECOM.ABANDONED_CHECKOUT_READ)"
        DELETE = "delete", "Delete (ECOM.ABANDONED_CHECKOUT_DELETE)"
        INGEST = "ingest", "Ingest checkout events"

    PREFIX = "cbk_"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    # The public part of the key, used to find the row without scanning every hash.
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.PREFIX}{self.prefix}_…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        # The secret is 256 random bits, so a fast hash is as strong as a slow one here.
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def generate(cls) -> tuple[str, str, str]:
        """Return (raw key, prefix, secret hash) for a new key."""
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        return f"{cls.PREFIX}{prefix}_{secret}", prefix, cls.hash_secret(secret)

    @classmethod
    def split(cls, raw: str) -> tuple[str, str] | None:
        if not raw.startswith(cls.PREFIX):
            return None
        prefix, _, secret = raw[len(cls.PREFIX) :].partition("_")
        if not prefix or not secret:
            return None
        return prefix, secret

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, self.hash_secret(secret))

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
