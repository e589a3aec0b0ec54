"""What automations leave behind: tasks, staff notifications, unsubscribes and sent emails."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Store
from checkouts.models.privacy import email_digest
from checkouts.models.scope import StoreScopedQuerySet

from .schedule import ScheduledStep


class Task(models.Model):
    """A follow-up for a person: call the buyer, check the stock, ...

    `title` is stored rendered (its merchant template filled in for the buyer when the task
    was created) and escaped wherever it is shown. A task closed by the system rather than a
    person says why in `closed_reason`.
    """

    class ClosedReason(models.TextChoices):
        RECOVERED = "RECOVERED", "the checkout was recovered"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    abandoned_checkout = models.ForeignKey(
        AbandonedCheckout, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # A retried step finds its task here instead of creating a second one.
    scheduled_step = models.OneToOneField(
        ScheduledStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="task"
    )
    title = models.CharField(max_length=200)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=16, choices=ClosedReason.choices, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            # Open tasks by due date (the default list and "mine"), done tasks by when they were done.
            models.Index(fields=["store", "due_at", "id"], condition=Q(done_at__isnull=True), name="task_open_due"),
            models.Index(
                fields=["store", "assignee", "due_at", "id"], condition=Q(done_at__isnull=True), name="task_mine_due"
            ),
            models.Index(fields=["store", "done_at", "id"], condition=Q(done_at__isnull=False), name="task_done"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def is_overdue(self) -> bool:
        return not self.is_done and self.due_at < timezone.now()


class Notification(models.Model):
    """A message for one staff member, shown under the bell in the dashboard header."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    abandoned_checkout = models.ForeignKey(
        AbandonedCheckout, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    scheduled_step = models.ForeignKey(
        ScheduledStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    text = models.CharField(max_length=500)
    link = models.CharField(max_length=500, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            # A retried step never notifies the same person twice.
            models.UniqueConstraint(
                fields=["scheduled_step", "recipient"],
                condition=Q(scheduled_step__isnull=False),
                name="notification_once_per_step_and_recipient",
            ),
        ]
        indexes = [
            models.Index(F("recipient"), F("store"), F("created_at").desc(), F("id").desc(), name="notification_inbox"),
            # The bell's unread count reads only unread rows.
            models.Index(fields=["recipient", "store"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Unsubscribe(models.Model):
    """A buyer who asked this store for no more messages, found by a keyed hash of their address.

    Lookups go by `email_hash` (HMAC-SHA256 under SECRET_KEY), never by `email`: an erasure
    request blanks the address but keeps the hash, so the record that stops us writing to
    the address again survives without the address in it.
    """

    class Source(models.TextChoices):
        LINK = "LINK", "Unsubscribe page"
        ONE_CLICK = "ONE_CLICK", "One-click (List-Unsubscribe-Post)"
        STAFF = "STAFF", "Added by staff"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    # Lower-cased; blank once the buyer has been erased.
    email = models.CharField(max_length=254, blank=True)
    email_hash = models.CharField(max_length=64, editable=False)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.LINK)
    created_at = models.DateTimeField(default=timezone.now)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "email_hash"], name="unsubscribe_once_per_store")]

    def __str__(self) -> str:
        return self.email or "(erased address)"

    def save(self, *args, **kwargs) -> None:
        self.email = self.email.strip().lower()
        if self.email:
            self.email_hash = email_digest(self.email)
        super().save(*args, **kwargs)


class SentEmail(models.Model):
    """Every email Comeback sent, as sent: the merchant reads them on /emails/.

    `idempotency_key` is unique: a step's key is looked up before its email goes out, so a
    step retried after its worker died does not write to the buyer twice.
    """

    class Kind(models.TextChoices):
        AUTOMATION = "AUTOMATION", "Automation"
        MANUAL = "MANUAL", "Sent by hand"
        TEST = "TEST", "Test"
        STAFF = "STAFF", "Staff notification"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    abandoned_checkout = models.ForeignKey(
        AbandonedCheckout, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    scheduled_step = models.ForeignKey(
        ScheduledStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=100, unique=True)
    message_id = models.CharField(max_length=255)
    to_email = models.CharField(max_length=254)
    subject = models.CharField(max_length=300)
    text_body = models.TextField()
    html_body = models.TextField(blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    # Which of an A/B step's words this email carried ("A" or "B"); blank outside a test.
    variant = models.CharField(max_length=1, blank=True)
    # Set once, by the first load of its open pixel (only automations that track opens have one).
    opened_at = models.DateTimeField(null=True, blank=True)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(F("store"), F("sent_at").desc(), F("id").desc(), name="sent_email_store_sent"),
            # The manual-send guard: the latest recovery email of one checkout.
            models.Index(F("abandoned_checkout"), F("sent_at").desc(), name="sent_email_checkout_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_email}"


class SendReceipt(models.Model):
    """Proof that an email left, committed the moment the mail server accepted it.

    The dispatcher sends a whole batch inside one transaction (it holds the checkouts' locks,
    so a recovery cannot slip in between the check and the send) and writes its `SentEmail`
    rows at the end. A worker killed halfway would lose the record of what it had already
    sent, and the retry would write to those buyers again. So each accepted send also writes
    one of these on a second, autocommitting connection: the retry finds it and records the
    email instead of sending it. The row holds nothing personal and goes as soon as the
    batch that sent it (or the retry) commits its `SentEmail`.
    """

    idempotency_key = models.CharField(max_length=100, primary_key=True)
    message_id = models.CharField(max_length=255)
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.idempotency_key
