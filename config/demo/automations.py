"""The automation's side of the demo's history (`seed_demo --automation-history`).

`config.demo.checkouts` writes months of abandoned checkouts with the activities the store's
automation logged on them: SCHEDULED, then an hour later the email, its reason for not going
out, the holdout, or the recovery that cancelled it. This writes the rows the automation kept
for the same history, its enrollments and scheduled steps (and the unsubscribes behind its
"unsubscribed" outcomes), so its page, its counts and its holdout report agree with the
checkouts' timelines. Its emails are rendered and kept as sent, linked to their steps, with
the buyers' clicks on them and the recoveries credited to them, so the Sent emails page, the
timelines and the step's funnel (sent, clicked, recovered, revenue) read the same history. A
history of up to `EMAILS_IN_FULL_UP_TO` checkouts a store (the demo's) has every email; a
bigger one keeps the newest of each batch, as rendering every one would make a million-row
history take hours. A step still to come stays PENDING: the running dispatcher sends it when
it falls due.
"""

import hashlib
from collections.abc import Iterable
from datetime import timedelta
from email.utils import format_datetime
from uuid import UUID

from django.core import mail
from django.core.mail.backends.filebased import EmailBackend as FileEmailBackend

from automations.messages.render import message_language, recovery_email, step_template
from automations.models import (
    Automation,
    AutomationStep,
    EmailClick,
    Enrollment,
    Reason,
    RecoveryAttribution,
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
# A store's history up to this many checkouts has every email rendered (the demo's 1,500 do);
# a bigger one the newest of each batch only.
EMAILS_IN_FULL_UP_TO = 10_000
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
    every_email: bool = False,
) -> int:
    """Enrol the history's checkouts in the store's first automation, with a step row each.

    Only an automation whose first step emails the buyer after `email_after` is the one the
    history describes; any other store setup gets nothing. Its settings stay as they are: the
    history's held-out checkouts fill its holdout report, but from now on it contacts every
    buyer until the merchant sets a holdout (a demo that holds out a new checkout at random
    would make "email me a minute after I leave" fail one time in ten). `every_email` renders
    each email the history sent, not only the batch's newest. Returns how many steps were
    written.
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
    )
    emails = _sent_emails_record(store=store, step=step, sent=sent if every_email else sent[:SENT_EMAILS_PER_BATCH])
    _engagement_record(store=store, emails=emails)
    return len(steps)


def _sent_emails_record(*, store: Store, step: AutomationStep, sent: list[dict]) -> list[SentEmail]:
    """The step's email to each of these checkouts, rendered as the dispatcher renders it and
    linked to the step it carried out (the funnel counts an email by its step)."""
    ids = [activity["abandoned_checkout_id"] for activity in sent]
    checkouts = AbandonedCheckout.objects.in_bulk(ids)
    step_ids = dict(
        ScheduledStep.objects.filter(step=step, abandoned_checkout_id__in=ids).values_list(
            "abandoned_checkout_id", "pk"
        )
    )
    records, messages = [], []
    for activity in sent:
        ac = checkouts[activity["abandoned_checkout_id"]]
        template = step_template(step, message_language(ac, store))
        email = recovery_email(abandoned_checkout=ac, store=store, template=template, idempotency_key=f"demo-{ac.pk}")
        record = email.sent_email(
            store_id=store.pk, abandoned_checkout=ac, kind=SentEmail.Kind.AUTOMATION, sent_at=activity["created_at"]
        )
        record.scheduled_step_id = step_ids[ac.pk]
        records.append(record)
        email.headers["Date"] = format_datetime(activity["created_at"])
        messages.append(email)
    records = SentEmail.objects.bulk_create(records)
    _outbox_write(messages)
    return records


def _outbox_write(emails: list) -> None:
    """The history's emails in the embedded outbox (var/mail/, Django's file backend), dated when
    they were sent, so it holds every email the funnel and the Sent emails page count. Never
    through any other backend: a configured mail server gets no demo email."""
    mailer = mail.mailers.default
    if emails and isinstance(mailer, FileEmailBackend):
        mailer.send_messages([email.message() for email in emails])


def _engagement_record(*, store: Store, emails: list[SentEmail]) -> None:
    """The buyers' counted clicks on these emails (the history's click count on each checkout),
    and each recovery credited to its email by the live rule: the last email clicked, else the
    last sent, within the store's attribution window before the recovery."""
    window = timedelta(days=store.attribution_window_days)
    clicks, credits = [], []
    for email in emails:
        ac = email.abandoned_checkout
        recovered = ac.checkout_recovered_at
        in_window = recovered is not None and email.sent_at <= recovered <= email.sent_at + window
        # Click moments, drawn from the checkout's id so the history stays the same run to run:
        # before the recovery it is credited to, or within a day of the email otherwise.
        span = (recovered - email.sent_at) if in_window else timedelta(days=1)
        moments = sorted(email.sent_at + span * (0.1 + 0.8 * _fraction(ac.pk, n)) for n in range(ac.link_clicks))
        clicks += [EmailClick(sent_email=email, clicked_at=moment) for moment in moments]
        if in_window:
            via = RecoveryAttribution.Via.CLICK if moments else RecoveryAttribution.Via.SEND
            credits.append(
                RecoveryAttribution(
                    abandoned_checkout=ac,
                    store_id=store.pk,
                    sent_email=email,
                    via=via,
                    revenue=ac.total,
                    recovered_at=recovered,
                )
            )
    EmailClick.objects.bulk_create(clicks)
    RecoveryAttribution.objects.bulk_create(credits)


def _fraction(key: UUID, n: int) -> float:
    digest = hashlib.blake2b(key.bytes + bytes([n]), digest_size=4).digest()
    return int.from_bytes(digest) / 2**32
