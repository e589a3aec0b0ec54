"""The automation's side of the demo's history (`seed_demo --automation-history`).

`config.demo.checkouts` writes months of abandoned checkouts with the activities the store's
automation logged on them: SCHEDULED, then an hour later the email, its reason for not going
out, the holdout, or the recovery that cancelled it. This writes the rows the automation kept
for the same history, its enrollments and scheduled steps (and the unsubscribes behind its
"unsubscribed" outcomes), so its page, its counts and its holdout report agree with the
checkouts' timelines. The newest emails of each batch are rendered and kept as sent, so the
Sent emails page and the timelines have real messages to open; rendering every one would make
a million-row history take hours. A step still to come stays PENDING: the running dispatcher
sends it when it falls due.
"""

from collections.abc import Iterable
from datetime import timedelta
from uuid import UUID

from automations.messages.render import message_language, recovery_email, step_template
from automations.models import (
    Automation,
    AutomationStep,
    Enrollment,
    Reason,
    ScheduledStep,
    SentEmail,
    Unsubscribe,
)
from automations.selectors import live_steps_prefetch
from checkouts.inserts import insert_rows
from checkouts.models import AbandonedCheckout, Activity, Store
from checkouts.models.privacy import email_digest

State = ScheduledStep.State
Type = Activity.Type
# Emails rendered in full per batch of the history (the newest ones).
SENT_EMAILS_PER_BATCH = 50
# A step's state and attempts, from the activity logged for it: the dispatcher's, or the
# recovery's that cancelled it before it ran.
_OUTCOMES = {
    (Type.EMAIL_SENT, ""): (State.DONE, 1),
    (Type.EMAIL_NOT_SENT, Reason.UNSUBSCRIBED): (State.SKIPPED, 1),
    (Type.AUTOMATION_SKIPPED, Reason.HOLDOUT): (State.SKIPPED, 1),
    (Type.AUTOMATION_SKIPPED, Reason.RECOVERED): (State.CANCELLED, 0),
}
_ENROLLMENT_COLUMNS = ["store_id", "automation_id", "abandoned_checkout_id", "holdout", "created_at"]
_STEP_COLUMNS = [
    "store_id",
    "automation_id",
    "step_id",
    "abandoned_checkout_id",
    "due_at",
    "state",
    "holdout",
    "attempts",
    "reason",
    "activity_type",
    "created_at",
    "finished_at",
]


def demo_history_record(
    *,
    store: Store,
    abandoned: list[dict],
    activities: Iterable[dict],
    held_out: set[UUID],
    email_after: timedelta,
) -> int:
    """Enrol the history's checkouts in the store's first automation, with a step row each.

    Only an automation whose first step emails the buyer after `email_after` is the one the
    history describes; any other store setup gets nothing. Its settings stay as they are: the
    history's held-out checkouts fill its holdout report, but from now on it contacts every
    buyer until the merchant sets a holdout (a demo that holds out a new checkout at random
    would make "email me a minute after I leave" fail one time in ten). Returns how many
    steps were written.
    """
    automation = (
        Automation.objects.filter(store=store, active=True)
        .prefetch_related(live_steps_prefetch())
        .order_by("pk")
        .first()
    )
    if automation is None or not automation.live_steps:
        return 0
    step = automation.live_steps[0]
    if step.action != AutomationStep.Action.EMAIL_BUYER or step.delay != email_after:
        return 0
    scheduled: dict[UUID, dict] = {}
    outcome: dict[UUID, dict] = {}
    for activity in activities:
        target = scheduled if activity["type"] == Type.SCHEDULED else outcome
        target[activity["abandoned_checkout_id"]] = activity
    enrollments, steps, unsubscribed = [], [], {}
    for row in abandoned:
        entry = scheduled.get(row["id"])
        if entry is None:
            continue  # not taken on (no email address)
        holdout = row["id"] in held_out
        enrolled_at = entry["created_at"]
        enrollments.append((store.pk, automation.pk, row["id"], holdout, enrolled_at))
        done = outcome.get(row["id"])
        if done is None:
            state, reason, kind, attempts, finished = State.PENDING, "", "", 0, None
        else:
            reason, kind, finished = done["reason"], done["type"], done["created_at"]
            state, attempts = _OUTCOMES[kind, reason]
            if reason == Reason.UNSUBSCRIBED:
                unsubscribed.setdefault(email_digest(row["email_key"]), (row["email_key"], enrolled_at))
        steps.append(
            (
                store.pk,
                automation.pk,
                step.pk,
                row["id"],
                row["created_at"] + step.delay,
                state,
                holdout,
                attempts,
                reason,
                kind,
                enrolled_at,
                finished,
            )
        )
    insert_rows(Enrollment, _ENROLLMENT_COLUMNS, enrollments)
    insert_rows(ScheduledStep, _STEP_COLUMNS, steps)
    # A buyer may have unsubscribed in an earlier batch of the history: one row per address.
    known = set(
        Unsubscribe.objects.filter(store=store, email_hash__in=unsubscribed).values_list("email_hash", flat=True)
    )
    insert_rows(
        Unsubscribe,
        ["store_id", "email", "email_hash", "created_at"],
        [(store.pk, email, digest, at) for digest, (email, at) in unsubscribed.items() if digest not in known],
    )
    sent = sorted(
        (activity for activity in outcome.values() if activity["type"] == Type.EMAIL_SENT),
        key=lambda activity: activity["created_at"],
        reverse=True,
    )[:SENT_EMAILS_PER_BATCH]
    _sent_emails_record(store=store, step=step, sent=sent)
    return len(steps)


def _sent_emails_record(*, store: Store, step: AutomationStep, sent: list[dict]) -> None:
    """The step's email to each of these checkouts, rendered as the dispatcher renders it."""
    checkouts = AbandonedCheckout.objects.in_bulk([activity["abandoned_checkout_id"] for activity in sent])
    records = []
    for activity in sent:
        ac = checkouts[activity["abandoned_checkout_id"]]
        template = step_template(step, message_language(ac, store))
        email = recovery_email(abandoned_checkout=ac, store=store, template=template, idempotency_key=f"demo-{ac.pk}")
        records.append(
            email.sent_email(
                store_id=store.pk, abandoned_checkout=ac, kind=SentEmail.Kind.AUTOMATION, sent_at=activity["created_at"]
            )
        )
    SentEmail.objects.bulk_create(records)
