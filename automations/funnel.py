"""Each step's funnel: sent → opened → clicked → recovered, with revenue, per A/B variant.

Read from what happened, never from what was planned: "sent" counts the `SentEmail` rows the
dispatcher wrote (one per email that actually left), texts count the steps that ended with a
text sent, "opened" the emails whose pixel loaded, "clicked" those with a counted click on
their own link, and "recovered" and "revenue" the recoveries credited to them
(`RecoveryAttribution`). The period selects emails by when they were sent: a recovery counts
with the email it is credited to, even if it came after the period ended.

Two grouped queries per automation page, whatever the number of steps, emails or variants.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from checkouts.models import Activity

from . import stats
from .models import Automation, AutomationStep, EmailClick, ScheduledStep, SentEmail

# The period picker's choices: days back from now ("all": since the automation began).
PERIODS = {"7": 7, "30": 30, "90": 90, "all": None}
DEFAULT_PERIOD = "30"


def period_start(period: str, *, now: datetime | None = None) -> datetime | None:
    days = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])
    return None if days is None else (now or timezone.now()) - timedelta(days=days)


@dataclass
class FunnelRow:
    sent: int = 0
    recipients: int = 0
    opened: int = 0
    clicked: int = 0
    recovered: int = 0
    revenue: Decimal = Decimal(0)

    def add(self, other: "FunnelRow") -> None:
        for name in ("sent", "recipients", "opened", "clicked", "recovered", "revenue"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def recovery_rate(self) -> float | None:
        return self.recovered / self.recipients if self.recipients else None

    @property
    def revenue_per_recipient(self) -> Decimal | None:
        return self.revenue / self.recipients if self.recipients else None


@dataclass
class StepFunnel:
    step: AutomationStep
    channel: str  # "email" or "sms"
    total: FunnelRow = field(default_factory=FunnelRow)
    variants: dict[str, FunnelRow] = field(default_factory=dict)  # "A", "B" on an A/B step
    comparison: stats.Lift | None = None


def _email_rows(automation: Automation, since: datetime | None):
    emails = SentEmail.objects.filter(
        store_id=automation.store_id, kind=SentEmail.Kind.AUTOMATION, scheduled_step__automation_id=automation.pk
    )
    if since is not None:
        emails = emails.filter(sent_at__gte=since)
    clicked = Exists(EmailClick.objects.filter(sent_email=OuterRef("pk")))
    return (
        emails.values("scheduled_step__step_id", "variant")
        .annotate(
            sent=Count("pk"),
            recipients=Count("abandoned_checkout_id", distinct=True),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked)),
            # One attribution per email at most (it is one-to-one): the join adds no rows.
            recovered=Count("attribution"),
            revenue=Sum("attribution__revenue"),
        )
        .order_by()
    )


def _text_rows(automation: Automation, since: datetime | None):
    texts = ScheduledStep.objects.filter(
        store_id=automation.store_id,
        automation=automation,
        state=ScheduledStep.State.DONE,
        activity_type=Activity.Type.NOTIFICATION_SENT,
        step__action=AutomationStep.Action.NOTIFY_BUYER,
    )
    if since is not None:
        texts = texts.filter(finished_at__gte=since)
    return texts.values("step_id").annotate(sent=Count("pk"), recipients=Count("abandoned_checkout_id", distinct=True))


def automation_funnel(
    *, automation: Automation, steps: list[AutomationStep], since: datetime | None
) -> list[StepFunnel]:
    """The funnel of each buyer-facing step in `steps` (the page's live steps, in order)."""
    funnels = {
        step.pk: StepFunnel(step=step, channel="email" if step.action == AutomationStep.Action.EMAIL_BUYER else "sms")
        for step in steps
        if step.action in (AutomationStep.Action.EMAIL_BUYER, AutomationStep.Action.NOTIFY_BUYER)
    }
    for row in _email_rows(automation, since):
        funnel = funnels.get(row["scheduled_step__step_id"])
        if funnel is None:  # a removed step: its emails are still on the emails page
            continue
        counts = FunnelRow(
            sent=row["sent"],
            recipients=row["recipients"],
            opened=row["opened"],
            clicked=row["clicked"],
            recovered=row["recovered"],
            revenue=row["revenue"] or Decimal(0),
        )
        funnel.total.add(counts)
        if row["variant"]:
            funnel.variants[row["variant"]] = counts
    if any(f.channel == "sms" for f in funnels.values()):
        for row in _text_rows(automation, since):
            if (funnel := funnels.get(row["step_id"])) is not None:
                funnel.total.add(FunnelRow(sent=row["sent"], recipients=row["recipients"]))
    for funnel in funnels.values():
        if funnel.step.is_ab_test or funnel.variants:
            a, b = funnel.variants.get("A", FunnelRow()), funnel.variants.get("B", FunnelRow())
            funnel.variants = {"A": a, "B": b}
            funnel.comparison = stats.variant_difference(
                a_recipients=a.recipients, a_recovered=a.recovered, b_recipients=b.recipients, b_recovered=b.recovered
            )
    return list(funnels.values())
