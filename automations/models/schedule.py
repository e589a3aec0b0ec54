"""The durable schedule: which checkouts an automation enrolled, and each step due for each of them."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Activity, Store
from checkouts.models.scope import StoreScopedQuerySet

from .automation import Automation, AutomationStep


class Reason(models.TextChoices):
    """Why a step sent nothing: the `reason` of its EMAIL_NOT_SENT or AUTOMATION_SKIPPED activity."""

    NO_EMAIL = "NO_EMAIL", "The buyer left no email address"
    UNSUBSCRIBED = "UNSUBSCRIBED", "The buyer unsubscribed"
    SEND_FAILED = "SEND_FAILED", "Sending failed after every retry"
    TEMPLATE_ERROR = "TEMPLATE_ERROR", "The message template could not be rendered"
    RECOVERED = "RECOVERED", "The checkout was recovered"
    CONDITION_NOT_MET = "CONDITION_NOT_MET", "The automation's conditions no longer hold"
    AUTOMATION_OFF = "AUTOMATION_OFF", "The automation was turned off"
    STEP_REMOVED = "STEP_REMOVED", "The step was removed from the automation"
    CHECKOUT_DELETED = "CHECKOUT_DELETED", "The abandoned checkout was deleted"
    BUYER_ERASED = "BUYER_ERASED", "The buyer's data was erased"
    NO_PHONE = "NO_PHONE", "The buyer left no phone number"
    OPTED_OUT = "OPTED_OUT", "The buyer opted out of messages"
    NO_RECIPIENTS = "NO_RECIPIENTS", "No staff member to notify"
    HOLDOUT = "HOLDOUT", "Held out on purpose, to measure the automation's lift"
    RECENTLY_EMAILED = "RECENTLY_EMAILED", "A recovery email went to this checkout within the guard window"
    RECENTLY_CONTACTED = "RECENTLY_CONTACTED", "The buyer got a recovery message within the store's window"
    NEWER_CHECKOUT = "NEWER_CHECKOUT", "The buyer abandoned a newer checkout, whose sequence runs instead"
    QUIET_HOURS = "QUIET_HOURS", "Held until the morning: due in the buyer's quiet hours"
    NO_CONSENT = "NO_CONSENT", "The buyer did not accept marketing messages on this channel"
    NO_CODE_LEFT = "NO_CODE_LEFT", "The message offers a discount code and none was left to give"


class Enrollment(models.Model):
    """One automation taken on for one abandoned checkout: the row behind its SCHEDULED activity.

    `holdout` is drawn at random when the checkout is enrolled; the holdout report compares
    the two groups.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="enrollments", db_index=False)
    abandoned_checkout = models.ForeignKey(AbandonedCheckout, on_delete=models.CASCADE, related_name="+")
    holdout = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["automation", "abandoned_checkout"], name="enrollment_once_per_checkout"),
        ]
        indexes = [models.Index(fields=["store", "automation", "holdout"], name="enrollment_store_automation")]

    def __str__(self) -> str:
        return f"{self.automation_id} × {self.abandoned_checkout_id}{' (holdout)' if self.holdout else ''}"


class ScheduledStep(models.Model):
    """One step of an automation, due for one abandoned checkout at `due_at`.

    The dispatcher claims due rows (PENDING → RUNNING with a lease in `locked_until`) and
    resolves each with exactly one activity, whose detail names it (`scheduledStep`). A worker
    that dies leaves its rows RUNNING;
    they are claimed again once the lease has expired.
    """

    class State(models.TextChoices):
        PENDING = "PENDING", "Pending"
        RUNNING = "RUNNING", "Running"
        DONE = "DONE", "Done"
        SKIPPED = "SKIPPED", "Skipped"
        FAILED = "FAILED", "Failed"
        CANCELLED = "CANCELLED", "Cancelled"

    FINAL = (State.DONE, State.SKIPPED, State.FAILED, State.CANCELLED)

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="+", db_index=False)
    step = models.ForeignKey(AutomationStep, on_delete=models.CASCADE, related_name="scheduled")
    # SET_NULL keeps the row (and the automation's counts) when the checkout is deleted.
    abandoned_checkout = models.ForeignKey(
        AbandonedCheckout, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    due_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    holdout = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=32, choices=Reason.choices, blank=True)
    activity_type = models.CharField(max_length=32, choices=Activity.Type.choices, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = StoreScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            # Leading with the checkout, it also serves "cancel this checkout's pending steps".
            models.UniqueConstraint(fields=["abandoned_checkout", "step"], name="scheduled_step_once_per_checkout"),
            models.CheckConstraint(
                condition=Q(state__in=["PENDING", "RUNNING", "DONE", "SKIPPED", "FAILED", "CANCELLED"]),
                name="scheduled_step_state_valid",
            ),
        ]
        indexes = [
            # The dispatcher's work list: only pending rows are in it, so it stays small.
            models.Index(fields=["due_at"], condition=Q(state="PENDING"), name="scheduled_step_due"),
            # Rows whose worker died: claimed again when the lease runs out.
            models.Index(fields=["locked_until"], condition=Q(state="RUNNING"), name="scheduled_step_leased"),
            models.Index(fields=["store", "automation", "state"], name="scheduled_step_counts"),
        ]

    def __str__(self) -> str:
        return f"step {self.step_id} for {self.abandoned_checkout_id} due {self.due_at:%Y-%m-%d %H:%M} ({self.state})"

    @property
    def idempotency_key(self) -> str:
        return f"step-{self.pk}"
