"""What a merchant configures: an automation, its ordered steps and their translations."""

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from checkouts.models import Membership, Store
from checkouts.models.scope import StoreScopedQuerySet
from checkouts.models.store import validate_language

from .conditions import Conditions


class AutomationQuerySet(StoreScopedQuerySet):
    def active(self) -> "AutomationQuerySet":
        return self.filter(active=True)


class Automation(Conditions):
    """A sequence of steps run for every abandoned checkout of a store that meets its conditions."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="automations")
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)
    require_email = models.BooleanField(default=True, help_text="Only checkouts whose buyer left an email address.")
    holdout_percent = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(50)],
        help_text="Share of checkouts deliberately not contacted, to measure what the automation really earns.",
    )
    track_opens = models.BooleanField(
        default=False,
        help_text="Adds an invisible image to each email to count opens. Apple Mail Privacy Protection "
        "loads it for every email, read or not, so opens are inflated: trust clicks more.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AutomationQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(holdout_percent__lte=50), name="automation_holdout_at_most_half"),
            models.CheckConstraint(
                condition=Q(min_total__isnull=True) | Q(min_total__gte=0), name="automation_min_total_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def unmet_condition(self, abandoned_checkout, *, returning: bool = False) -> dict | None:
        if self.require_email and not abandoned_checkout.buyer_email:
            return {"condition": "require_email", "text": "buyer left an email address"}
        return super().unmet_condition(abandoned_checkout, returning=returning)

    def matches(self, abandoned_checkout, *, returning: bool = False) -> bool:
        """Whether a checkout meets this automation's conditions right now."""
        return self.unmet_condition(abandoned_checkout, returning=returning) is None


class AutomationStepQuerySet(StoreScopedQuerySet):
    store_path = "automation__store"


class AutomationStep(Conditions):
    """One timed action of an automation, sent only if its own conditions hold when due too.
    Removed steps are archived, not deleted, so the schedule already made from them still
    resolves with an activity."""

    class Unit(models.TextChoices):
        MINUTES = "MINUTES", "minutes"
        HOURS = "HOURS", "hours"
        DAYS = "DAYS", "days"

    class Action(models.TextChoices):
        EMAIL_BUYER = "EMAIL_BUYER", "Email the buyer"
        NOTIFY_BUYER = "NOTIFY_BUYER", "Text the buyer"
        NOTIFY_STAFF = "NOTIFY_STAFF", "Notify staff"
        CREATE_TASK = "CREATE_TASK", "Create a follow-up task"

    UNIT_DELTA = {Unit.MINUTES: timedelta(minutes=1), Unit.HOURS: timedelta(hours=1), Unit.DAYS: timedelta(days=1)}

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=1)
    delay_value = models.PositiveIntegerField(default=1, validators=[MinValueValidator(0)])
    delay_unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.HOURS)
    action = models.CharField(max_length=16, choices=Action.choices, default=Action.EMAIL_BUYER)
    # EMAIL_BUYER: Django template source, rendered with a small safe context.
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    # EMAIL_BUYER A/B test: the second variant's words; a blank one keeps variant A's.
    subject_b = models.CharField(max_length=200, blank=True)
    body_b = models.TextField(blank=True)
    # NOTIFY_BUYER (the text message) and NOTIFY_STAFF (the notification text).
    message = models.TextField(blank=True)
    # NOTIFY_STAFF: who is told.
    notify_members = models.ManyToManyField(Membership, blank=True, related_name="+")
    # CREATE_TASK
    task_title = models.CharField(max_length=200, blank=True)
    task_assignee = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    task_due_days = models.PositiveSmallIntegerField(default=1, help_text="Days after the task is created.")
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AutomationStepQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["automation", "archived", "position"], name="step_automation_position")]
        constraints = [
            models.CheckConstraint(
                condition=Q(delay_unit__in=["MINUTES", "HOURS", "DAYS"]), name="step_delay_unit_valid"
            ),
            models.CheckConstraint(
                condition=Q(action__in=["EMAIL_BUYER", "NOTIFY_BUYER", "NOTIFY_STAFF", "CREATE_TASK"]),
                name="step_action_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_action_display()} after {self.delay_label}"

    @property
    def label(self) -> str:
        """How a timeline names this step: "Win back · step 2: Email the buyer" (needs `automation`)."""
        return f"{self.automation.name} · step {self.position}: {self.get_action_display()}"

    @property
    def is_ab_test(self) -> bool:
        """An email step with a second variant: its buyers are split between the two."""
        return self.action == self.Action.EMAIL_BUYER and bool(self.subject_b or self.body_b)

    @property
    def delay(self) -> timedelta:
        return self.delay_value * self.UNIT_DELTA[self.delay_unit]

    @property
    def delay_label(self) -> str:
        unit = self.get_delay_unit_display()
        return f"{self.delay_value} {unit[:-1] if self.delay_value == 1 else unit}"


class StepTranslationQuerySet(StoreScopedQuerySet):
    store_path = "step__automation__store"


class StepTranslation(models.Model):
    """The email of a step in another language, used when the buyer's language matches."""

    step = models.ForeignKey(AutomationStep, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=16, validators=[validate_language], help_text="e.g. fr, de, pt-BR")
    subject = models.CharField(max_length=200)
    body = models.TextField()

    objects = StepTranslationQuerySet.as_manager()

    class Meta:
        ordering = ["language"]
        constraints = [
            models.UniqueConstraint(fields=["step", "language"], name="step_translation_one_per_language"),
        ]

    def __str__(self) -> str:
        return f"{self.step} ({self.language})"

    def save(self, *args, **kwargs) -> None:
        self.language = self.language.lower().replace("_", "-")
        super().save(*args, **kwargs)


class HoldoutChangeQuerySet(StoreScopedQuerySet):
    store_path = "automation__store"


class HoldoutChange(models.Model):
    """The holdout share changed: the report explains a share that differs from today's
    setting ("holdout was 10% until Dec 1, 20% since")."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="holdout_changes")
    before = models.PositiveSmallIntegerField()
    after = models.PositiveSmallIntegerField()
    changed_at = models.DateTimeField(default=timezone.now)

    objects = HoldoutChangeQuerySet.as_manager()

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.automation_id}: {self.before}% → {self.after}% at {self.changed_at:%Y-%m-%d %H:%M}"
