"""Checkouts as the storefront reports them, and the abandoned checkouts made from them."""

import uuid
from datetime import datetime

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from ..search_text import search_text_for
from .scope import StoreScopedQuerySet
from .store import Store

AMOUNT = {"max_digits": 20, "decimal_places": 4}


class CheckoutData(models.Model):
    """The buyer, prices and items of a checkout, in columns named after Wix's fields."""

    cart_id = models.CharField(max_length=100, blank=True)
    buyer_language = models.CharField(max_length=16, blank=True)
    contact_id = models.CharField(max_length=100, blank=True)
    visitor_id = models.CharField(max_length=100, blank=True)
    member_id = models.CharField(max_length=100, blank=True)
    user_id = models.CharField(max_length=100, blank=True)
    buyer_email = models.CharField(max_length=254, blank=True)
    # Lower-cased email: the key for case-insensitive prefix search and any-order recovery.
    email_key = models.CharField(max_length=254, blank=True, editable=False)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    company = models.CharField(max_length=1000, blank=True)
    vat_id = models.JSONField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    conversion_currency = models.CharField(max_length=3, blank=True)
    subtotal = models.DecimalField(default=0, **AMOUNT)
    subtotal_converted = models.DecimalField(null=True, blank=True, **AMOUNT)
    total = models.DecimalField(default=0, **AMOUNT)
    total_converted = models.DecimalField(null=True, blank=True, **AMOUNT)
    # Not in Wix's schema: a storefront may send them (`shippingPrice`, `taxPrice`) so the page
    # and the email can show every line of the total. Null means "not sent", not zero.
    shipping = models.DecimalField(null=True, blank=True, **AMOUNT)
    shipping_converted = models.DecimalField(null=True, blank=True, **AMOUNT)
    tax = models.DecimalField(null=True, blank=True, **AMOUNT)
    tax_converted = models.DecimalField(null=True, blank=True, **AMOUNT)
    # Not in Wix's schema: what the buyer agreed to at checkout, when the platform says
    # (`marketingConsent`: {"email": bool, "sms": bool}). Null means "not said", not "refused".
    marketing_consent = models.JSONField(null=True, blank=True)
    # Not in Wix's schema: where the buyer is, when the platform says. The country (ISO 3166-1
    # alpha-2, from the shipping address, else the billing one) is a targeting condition; the
    # time zone (IANA, e.g. "Europe/Paris", as a browser reports it) places quiet hours.
    buyer_country = models.CharField(max_length=2, blank=True)
    buyer_time_zone = models.CharField(max_length=64, blank=True)
    # Stored already in Wix's wire shape (formatted prices included): rendering is a copy.
    line_items = models.JSONField(default=list, blank=True)
    applied_discounts = models.JSONField(default=list, blank=True)
    storefront_checkout_url = models.URLField(max_length=2000, blank=True)
    # Names, email and phone digits folded for the list's search (checkouts.search_text): written
    # with the fields it is made from, never edited. PostgreSQL indexes it with pg_trgm.
    search_text = models.TextField(blank=True, default="", editable=False)

    SNAPSHOT_FIELDS = (
        "cart_id",
        "buyer_language",
        "contact_id",
        "visitor_id",
        "member_id",
        "user_id",
        "buyer_email",
        "email_key",
        "first_name",
        "last_name",
        "phone",
        "company",
        "vat_id",
        "currency",
        "conversion_currency",
        "subtotal",
        "subtotal_converted",
        "total",
        "total_converted",
        "shipping",
        "shipping_converted",
        "tax",
        "tax_converted",
        "marketing_consent",
        "buyer_country",
        "buyer_time_zone",
        "line_items",
        "applied_discounts",
        "storefront_checkout_url",
        "search_text",
    )
    # Buyer data an erasure request blanks out. The storefront's ids for the buyer go too:
    # pseudonymous data is still personal data, and a contact id finds them again in the CRM.
    PERSONAL_FIELDS = {
        "contact_id": "",
        "visitor_id": "",
        "member_id": "",
        "user_id": "",
        "buyer_email": "",
        "email_key": "",
        "first_name": "",
        "last_name": "",
        "phone": "",
        "company": "",
        "vat_id": None,
        "marketing_consent": None,
        "buyer_country": "",
        "buyer_time_zone": "",
        "search_text": "",
    }

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        self.email_key = self.buyer_email.lower()
        self.search_text = search_text_for(
            first_name=self.first_name,
            last_name=self.last_name,
            buyer_email=self.buyer_email,
            phone=self.phone,
            order_id=getattr(self, "recovered_order_id", "") or getattr(self, "order_id", ""),
        )
        super().save(*args, **kwargs)

    @property
    def holds_personal_data(self) -> bool:
        """False once anonymised (or never given): there is nothing left to erase."""
        return any(getattr(self, name) != blank for name, blank in self.PERSONAL_FIELDS.items())

    @property
    def buyer_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def is_reachable(self) -> bool:
        return bool(self.buyer_email or self.member_id)

    def snapshot(self) -> dict:
        return {name: getattr(self, name) for name in self.SNAPSHOT_FIELDS}


class Checkout(CheckoutData):
    """The live checkout, as the storefront last reported it."""

    # Indexed through the unique (store, external_id) constraint; no separate index.
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="checkouts", db_index=False)
    external_id = models.CharField(max_length=100, help_text="The storefront's checkout id.")
    # The newest snapshot applied: (occurredAt, eventId) orders snapshots, so an older or
    # replayed event never overwrites a newer one whatever order events arrive in.
    last_activity_at = models.DateTimeField()
    snapshot_event_id = models.CharField(max_length=255, blank=True)
    # Set while the checkout is open, reachable and not yet abandoned: the sweep's work list.
    abandon_due_at = models.DateTimeField(null=True, blank=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    order_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="checkout_unique_external_id"),
        ]
        indexes = [
            # Only open checkouts are in it, so the every-minute sweep reads a small index.
            models.Index(
                fields=["abandon_due_at"],
                condition=Q(abandon_due_at__isnull=False),
                name="checkout_abandon_due",
            ),
            models.Index(fields=["store", "email_key", "completed_at"], name="checkout_store_email"),
            # Shopify's orders/create without a checkout_token finds its checkout by cart token (rare, but a
            # scan of the store's checkouts otherwise); carts without an id stay out of it.
            models.Index(fields=["store", "cart_id"], condition=~Q(cart_id=""), name="checkout_store_cart"),
            # The admin's list, newest first: a page is an index range, never a sort of the store.
            models.Index(F("store"), F("created_at").desc(), F("id").desc(), name="checkout_store_created"),
        ]

    def __str__(self) -> str:
        return f"checkout {self.external_id}"

    @property
    def is_completed(self) -> bool:
        return self.completed_at is not None

    def next_abandon_due_at(self, store: Store) -> datetime | None:
        if self.completed_at or self.abandoned_at or not self.is_reachable:
            return None
        return self.last_activity_at + store.abandon_after


class AbandonedCheckoutQuerySet(StoreScopedQuerySet):
    def abandoned(self) -> "AbandonedCheckoutQuerySet":
        """Still waiting for the buyer: not recovered yet."""
        return self.filter(self.abandoned_q())

    def recovered(self) -> "AbandonedCheckoutQuerySet":
        return self.filter(self.recovered_q())

    # The same predicates as conditions, for an aggregate's `filter=` or for rows that reach
    # their checkout through `via` ("abandoned_checkout__"): one spelling of each status test.
    @staticmethod
    def abandoned_q(via: str = "") -> Q:
        return Q(**{f"{via}status": AbandonedCheckout.Status.ABANDONED})

    @staticmethod
    def recovered_q(via: str = "") -> Q:
        return Q(**{f"{via}status": AbandonedCheckout.Status.RECOVERED})


class AbandonedCheckout(CheckoutData):
    """A checkout the buyer left before paying. Its JSON is Wix's AbandonedCheckout."""

    class Status(models.TextChoices):
        ABANDONED = "ABANDONED", "Abandoned"
        RECOVERED = "RECOVERED", "Recovered"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Every index below leads with the store, so the foreign key needs none of its own.
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="abandoned_checkouts", db_index=False)
    checkout = models.OneToOneField(
        Checkout, null=True, blank=True, on_delete=models.SET_NULL, related_name="abandoned_checkout"
    )
    # Wix's checkoutId: the storefront's checkout id, empty for a cart abandoned before checkout.
    checkout_external_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ABANDONED)
    created_at = models.DateTimeField(default=timezone.now, help_text="When the checkout was abandoned.")
    updated_at = models.DateTimeField(default=timezone.now)
    checkout_recovered_at = models.DateTimeField(null=True, blank=True)
    recovered_order_id = models.CharField(max_length=100, blank=True)
    link_clicks = models.PositiveIntegerField(default=0)
    last_clicked_at = models.DateTimeField(null=True, blank=True)
    # Denormalised from the newest activity so a list shows it without a subquery per row.
    last_activity_type = models.CharField(max_length=32, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # The entityEventSequence of the newest outbox event written for this checkout.
    event_sequence = models.PositiveBigIntegerField(default=0)
    # The Wix entity as the API sends it (compact JSON), kept ready so a page splices 100 of
    # them instead of building them. `wire_stamp` names what it was built from (checkouts.wire):
    # a reader uses it only when the stamp matches the row as it is now, so it is never stale.
    wire = models.TextField(null=True, blank=True, editable=False)
    wire_stamp = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = AbandonedCheckoutQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["ABANDONED", "RECOVERED"]), name="abandoned_checkout_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="ABANDONED") | Q(checkout_recovered_at__isnull=False),
                name="abandoned_checkout_recovered_has_date",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="abandoned_checkout_total_not_negative"),
        ]
        # Each index serves a list sort or filter; `id` is the keyset tie-breaker.
        indexes = [
            models.Index(F("store"), F("created_at").desc(), F("id").desc(), name="ac_store_created"),
            # A superuser's admin list of every store (or a staff member's of several), newest first.
            models.Index(F("created_at").desc(), F("id").desc(), name="ac_created"),
            models.Index(
                F("store"), F("status"), F("created_at").desc(), F("id").desc(), name="ac_store_status_created"
            ),
            models.Index(F("store"), F("updated_at").desc(), F("id").desc(), name="ac_store_updated"),
            models.Index(F("store"), F("total").desc(), F("id").desc(), name="ac_store_total"),
            models.Index(
                fields=["store", "email_key"],
                opclasses=["uuid_ops", "varchar_pattern_ops"],
                name="ac_store_email_prefix",
            ),
            # The overview's counts and sums over a period read only this index (an index-only
            # scan on PostgreSQL), never the wide rows with their line-item JSON.
            models.Index(fields=["store", "created_at", "status", "total", "id"], name="ac_store_created_figures"),
            # Rows without stored JSON, for the periodic fill: empty once it has caught up.
            models.Index(fields=["id"], condition=Q(wire_stamp=""), name="ac_wire_missing"),
            # The API's lookups by buyer id (Wix's buyerInfo.* filters). Partial: unset ids are ''.
            *(
                models.Index(fields=["store", column], condition=~Q(**{column: ""}), name=f"ac_store_{column}")
                for column in ("contact_id", "visitor_id", "member_id", "user_id")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.buyer_email or self.buyer_name or 'anonymous'} · {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        # A save that does not write the wire JSON itself (an admin edit) drops it: readers
        # build the entity from the fields until the next refresh.
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "wire_stamp" not in update_fields:
            self.wire, self.wire_stamp = None, ""
            if update_fields is not None:
                kwargs["update_fields"] = [*update_fields, "wire", "wire_stamp"]
        super().save(*args, **kwargs)

    @property
    def is_recovered(self) -> bool:
        return self.status == self.Status.RECOVERED


class Activity(models.Model):
    """One thing an automation did (or declined to do) for an abandoned checkout."""

    class Type(models.TextChoices):
        # Exactly Wix's ActivityType.
        SCHEDULED = "SCHEDULED", "Scheduled"
        EMAIL_SENT = "EMAIL_SENT", "Email sent"
        EMAIL_NOT_SENT = "EMAIL_NOT_SENT", "Email not sent"
        NOTIFICATION_SENT = "NOTIFICATION_SENT", "Notification sent"
        TASK_CREATED = "TASK_CREATED", "Task created"
        AUTOMATION_SKIPPED = "AUTOMATION_SKIPPED", "Automation skipped"

    # The activities list in the API holds the latest this many (Wix's cap).
    API_LIMIT = 20

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    abandoned_checkout = models.ForeignKey(
        AbandonedCheckout, on_delete=models.CASCADE, related_name="activities", db_index=False
    )
    type = models.CharField(max_length=32, choices=Type.choices)
    reason = models.CharField(max_length=64, blank=True, help_text="Why an email was not sent or a step skipped.")
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "activities"
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    type__in=[
                        "SCHEDULED",
                        "EMAIL_SENT",
                        "EMAIL_NOT_SENT",
                        "NOTIFICATION_SENT",
                        "TASK_CREATED",
                        "AUTOMATION_SKIPPED",
                    ]
                ),
                name="activity_type_valid",
            ),
        ]
        indexes = [
            models.Index(
                F("abandoned_checkout"), F("created_at").desc(), F("id").desc(), name="activity_checkout_latest"
            ),
            models.Index(fields=["abandoned_checkout", "type"], name="activity_checkout_type"),
            models.Index(fields=["store", "type", "created_at"], name="activity_store_type_created"),
            # The admin's list, newest first, with or without a type filter on top.
            models.Index(F("store"), F("created_at").desc(), F("id").desc(), name="activity_store_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} at {self.created_at:%Y-%m-%d %H:%M}"


class IngestedEvent(models.Model):
    """A storefront event id already applied: replays are answered from here, not re-applied."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    outcome = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "event_id"], name="ingested_event_unique_per_store"),
        ]
        indexes = [models.Index(fields=["created_at"], name="ingested_event_created")]

    def __str__(self) -> str:
        return self.event_id
