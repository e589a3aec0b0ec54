"""Discount codes an automation offers: where they come from, the pool, and who got which.

One offer per automation, because a merchant thinks of "the win-back flow gives 10 % off from
the second email on", not of a code per email; each checkout keeps the one code it was given
for every later step of that automation, so a buyer never holds two codes from one flow.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Store
from checkouts.models.connections import Connection
from checkouts.models.scope import StoreScopedQuerySet

from .automation import Automation
from .schedule import ScheduledStep

CODE_MAX_LENGTH = 64


class DiscountOfferQuerySet(StoreScopedQuerySet):
    store_path = "automation__store"


class DiscountOffer(models.Model):
    """Where an automation's codes come from, and from which step on its messages carry one."""

    class Source(models.TextChoices):
        NONE = "NONE", "No discount code"
        STATIC = "STATIC", "One code for everyone"
        POOL = "POOL", "Single-use codes from an uploaded list"
        PLATFORM = "PLATFORM", "A new code made by the store's platform"

    automation = models.OneToOneField(Automation, on_delete=models.CASCADE, related_name="discount_offer")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.NONE)
    static_code = models.CharField(max_length=CODE_MAX_LENGTH, blank=True)
    from_position = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Emails from this step on show the code. A text carries it when it says {{ discount_code }}.",
    )
    # PLATFORM: the connection whose API makes the codes, and what they give.
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    percent_off = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    # Set when the staff were told the pool runs low; an upload clears it, so the next low tells again.
    low_warned_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DiscountOfferQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=["NONE", "STATIC", "POOL", "PLATFORM"]), name="discount_offer_source_valid"
            ),
            models.CheckConstraint(
                condition=~Q(source="STATIC") | ~Q(static_code=""), name="discount_offer_static_has_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id}: {self.get_source_display()}"

    @property
    def offers_codes(self) -> bool:
        return self.source != self.Source.NONE


class DiscountCodeQuerySet(StoreScopedQuerySet):
    def free(self) -> "DiscountCodeQuerySet":
        return self.filter(claimed_at__isnull=True)


class DiscountCode(models.Model):
    """One single-use code of an automation's uploaded pool. `claimed_at` is set once, by the
    conditional UPDATE that hands it out; the grant's unique `pool_code` is the schema's word
    that no code goes to two checkouts."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="discount_codes", db_index=False)
    code = models.CharField(max_length=CODE_MAX_LENGTH)
    uploaded_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)

    objects = DiscountCodeQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["automation", "code"], name="discount_code_unique_in_pool"),
        ]
        indexes = [
            # The free codes of a pool, oldest first: the claim reads the head of this small index.
            models.Index(fields=["automation", "id"], condition=Q(claimed_at__isnull=True), name="discount_code_free"),
        ]

    def __str__(self) -> str:
        return self.code


class DiscountGrantQuerySet(StoreScopedQuerySet):
    def redeemed(self) -> "DiscountGrantQuerySet":
        return self.filter(redeemed_at__isnull=False)


class DiscountGrant(models.Model):
    """A code an automation gave one abandoned checkout, with the send that first carried it,
    and the order that used it (the recovery is attributed to the code)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="discount_grants", db_index=False)
    abandoned_checkout = models.ForeignKey(AbandonedCheckout, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=CODE_MAX_LENGTH)
    source = models.CharField(max_length=16, choices=DiscountOffer.Source.choices)
    pool_code = models.OneToOneField(
        DiscountCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="grant"
    )
    # The send that first carried the code: a step's (scheduled_step and its idempotency key), or
    # a hand-sent email's key.
    scheduled_step = models.ForeignKey(
        ScheduledStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    idempotency_key = models.CharField(max_length=255, blank=True)
    granted_at = models.DateTimeField(default=timezone.now)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_order_id = models.CharField(max_length=100, blank=True)
    redeemed_total = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    redeemed_currency = models.CharField(max_length=3, blank=True)

    objects = DiscountGrantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["automation", "abandoned_checkout"], name="discount_grant_one_per_checkout"
            ),
        ]
        indexes = [models.Index(fields=["automation", "redeemed_at"], name="discount_grant_automation")]

    def __str__(self) -> str:
        return f"{self.code} → {self.abandoned_checkout_id}"
