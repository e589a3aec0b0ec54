"""Reads for the automations pages and the dispatcher; every request-serving one takes the store."""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Membership, Store
from checkouts.models.privacy import email_digests

from .messages.render import OPEN_PIXEL_PATTERN
from .models import (
    Automation,
    AutomationStep,
    EmailClick,
    Enrollment,
    Notification,
    ScheduledStep,
    SentEmail,
    Task,
    Unsubscribe,
)

# The bell says "99+" rather than counting a backlog of thousands.
UNREAD_CAP = 99
# An enrollment or step whose checkout came back.
RECOVERED = AbandonedCheckout.objects.recovered_q(via="abandoned_checkout__")


def checkout_path(abandoned_checkout_id: UUID) -> str:
    """The dashboard page of one abandoned checkout (the dashboard's documented URL)."""
    return f"/checkouts/{abandoned_checkout_id}/"


def automations_for_store(*, store: Store) -> QuerySet[Automation]:
    return Automation.objects.filter(store=store)


def live_steps_prefetch() -> Prefetch:
    steps = AutomationStep.objects.filter(archived=False).order_by("position", "id")
    return Prefetch("steps", queryset=steps.prefetch_related("translations"), to_attr="live_steps")


@dataclass
class AutomationCounts:
    """Step counts that add up: every scheduled step is in exactly one of sent, skipped or
    still to run (its state partitions them), so `scheduled == sent + skipped + pending`
    always. A deleted checkout keeps its steps (detached, skipped as CHECKOUT_DELETED); a
    deleted step takes its scheduled rows with it from both sides. `checkouts` and
    `recovered` count enrolled checkouts, which a deletion does remove."""

    scheduled: int = 0
    sent: int = 0
    skipped: int = 0
    pending: int = 0
    checkouts: int = 0
    recovered: int = 0


def automation_counts(*, store: Store) -> dict[int, AutomationCounts]:
    """Per automation: checkouts enrolled and recovered, steps done, skipped and pending.
    Two grouped queries for the whole store, whatever the number of automations."""
    counts: dict[int, AutomationCounts] = {}
    enrolled = (
        Enrollment.objects.filter(store=store)
        .values("automation_id")
        .annotate(scheduled=Count("id"), recovered=Count("id", filter=RECOVERED))
        .order_by()
    )
    for row in enrolled:
        counts[row["automation_id"]] = AutomationCounts(checkouts=row["scheduled"], recovered=row["recovered"])
    states = ScheduledStep.State
    steps = (
        ScheduledStep.objects.filter(store=store)
        .values("automation_id")
        .annotate(
            scheduled=Count("id"),
            sent=Count("id", filter=Q(state=states.DONE)),
            skipped=Count("id", filter=Q(state__in=[states.SKIPPED, states.FAILED, states.CANCELLED])),
            pending=Count("id", filter=Q(state__in=[states.PENDING, states.RUNNING])),
        )
        .order_by()
    )
    for row in steps:
        entry = counts.setdefault(row["automation_id"], AutomationCounts())
        entry.scheduled, entry.sent, entry.skipped = row["scheduled"], row["sent"], row["skipped"]
        entry.pending = row["pending"]
    return counts


@dataclass
class GroupOutcome:
    checkouts: int
    recovered: int
    recovered_value: Decimal

    @property
    def rate(self) -> float | None:
        return self.recovered / self.checkouts if self.checkouts else None


def holdout_groups(*, automation: Automation) -> tuple[GroupOutcome, GroupOutcome]:
    """(contacted, held out): how many checkouts each group has, how many came back, and for how much."""
    rows = {
        row["holdout"]: row
        for row in Enrollment.objects.filter(store_id=automation.store_id, automation=automation)
        .values("holdout")
        .annotate(
            checkouts=Count("id"),
            recovered=Count("id", filter=RECOVERED),
            value=Sum("abandoned_checkout__total", filter=RECOVERED),
        )
        .order_by()
    }

    def group(holdout: bool) -> GroupOutcome:
        row = rows.get(holdout, {})
        return GroupOutcome(row.get("checkouts", 0), row.get("recovered", 0), row.get("value") or Decimal(0))

    return group(False), group(True)


def holdout_history(*, automation: Automation, zone) -> str:
    """ "Holdout was 10% until Dec 1, 20% since." ("" if the share never changed). One query."""
    changes = list(automation.holdout_changes.order_by("changed_at", "id"))
    if not changes:
        return ""
    days = [timezone.localtime(change.changed_at, zone) for change in changes]
    parts = [f"{change.before}% until {day:%b} {day.day}" for change, day in zip(changes, days, strict=True)]
    return f"Holdout was {', then '.join(parts)}, {changes[-1].after}% since."


def store_members(*, store: Store) -> QuerySet[Membership]:
    return Membership.objects.filter(store=store).select_related("user").order_by("user__username")


# The nav badge counts at most this many ("99+" beyond): a bounded read on every page.
MY_OPEN_TASKS_CAP = 100


def my_open_tasks_count(request) -> int:
    """Open tasks assigned to the signed-in member in the current store: one query (task_mine_due index)."""
    # DRF's views (the public recovery link) leave `request.user` None for an anonymous caller.
    store, user = getattr(request, "store", None), getattr(request, "user", None)
    if store is None or user is None or not user.is_authenticated:
        return 0
    return Task.objects.filter(store=store, assignee=user, done_at__isnull=True)[:MY_OPEN_TASKS_CAP].count()


def tasks_for_store(*, store: Store, show: str = "open", user: AbstractBaseUser | None = None) -> QuerySet[Task]:
    """`show`: "open" (default), "done", "mine" (open and assigned to `user`) or "all"."""
    tasks = Task.objects.filter(store=store).select_related("assignee", "abandoned_checkout")
    if show == "done":
        return tasks.filter(done_at__isnull=False)
    if show == "mine":
        return tasks.filter(done_at__isnull=True, assignee=user)
    if show == "all":
        return tasks
    return tasks.filter(done_at__isnull=True)


def notifications_for(*, store: Store, user: AbstractBaseUser) -> QuerySet[Notification]:
    return Notification.objects.filter(store=store, recipient=user)


def unread_count(*, store: Store, user: AbstractBaseUser) -> tuple[int, bool]:
    """(count, capped): reads at most UNREAD_CAP + 1 rows from the partial index."""
    count = notifications_for(store=store, user=user).filter(read_at__isnull=True)[: UNREAD_CAP + 1].count()
    return min(count, UNREAD_CAP), count > UNREAD_CAP


def sent_emails_for_store(*, store: Store) -> QuerySet[SentEmail]:
    return SentEmail.objects.filter(store=store)


def sent_emails_with_engagement(*, store: Store) -> QuerySet[SentEmail]:
    """The store's sent emails, each annotated with what its buyer did, in the same query.

    `open_tracked`: the email carried the open pixel (its automation tracked opens when it was
    sent), so a blank `opened_at` means not opened yet rather than not known; it is read from the
    email as sent, not from the automation's setting today. `clicked`: its own recovery link
    counted a click (EmailClick). Annotations rather than a prefetch: a page of the list is
    one query however many emails it shows.
    """
    return sent_emails_for_store(store=store).annotate(
        open_tracked=ExpressionWrapper(Q(html_body__regex=OPEN_PIXEL_PATTERN), output_field=BooleanField()),
        clicked=Exists(EmailClick.objects.filter(sent_email=OuterRef("pk"))),
    )


def sent_email_clicks(*, email: SentEmail) -> dict:
    """How many counted clicks one email's link had, and the first and last (one query)."""
    return email.clicks.aggregate(count=Count("id"), first=Min("clicked_at"), last=Max("clicked_at"))


def preview_checkout(*, store: Store, abandoned_checkout_id: UUID | str | None = None) -> AbandonedCheckout:
    """A real checkout of the store to render a preview for: the one asked for, else the newest
    one with an email; a made-up one (never saved) for a store with none yet."""
    checkouts = AbandonedCheckout.objects.filter(store=store).select_related("store")
    if abandoned_checkout_id:
        found = _checkout_by_any_id(checkouts, store=store, value=str(abandoned_checkout_id).strip())
        if found:
            return found
    newest = checkouts.exclude(buyer_email="").order_by("-created_at", "-id").first()
    return newest or sample_checkout(store=store)


def _checkout_by_any_id(checkouts, *, store: Store, value: str) -> AbandonedCheckout | None:
    """By the abandoned checkout's id, else by the storefront's checkout id (what a merchant has
    at hand from their platform). The second goes through the unique (store, external_id) of the
    live checkout, so it is an index lookup too."""
    try:
        found = checkouts.filter(pk=uuid.UUID(value)).first()
    except ValueError:
        found = None
    if found is None:
        found = checkouts.filter(checkout__store=store, checkout__external_id=value).first()
    return found


def sample_checkout(*, store: Store) -> AbandonedCheckout:
    amount = Decimal("129.00")
    return AbandonedCheckout(
        id=uuid.uuid4(),
        store=store,
        buyer_email="ada@example.com",
        email_key="ada@example.com",
        first_name="Ada",
        last_name="Lovelace",
        buyer_language=store.language,
        currency=store.currency,
        subtotal=amount,
        total=amount,
        created_at=timezone.now(),
        line_items=[
            {
                "quantity": 1,
                "productName": {"original": "Trail Backpack"},
                "price": {"amount": str(amount)},
                "image": {"url": f"{settings.COMEBACK_PUBLIC_URL}/static/img/products/trail-backpack.svg"},
            }
        ],
    )


def unsubscribe_find(*, store_id, email: str) -> Unsubscribe | None:
    """The store's unsubscribe of `email`, by its keyed hash (so an erased buyer's still counts)."""
    return Unsubscribe.objects.filter(store_id=store_id, email_hash__in=email_digests(email)).first()
