"""One dispatcher batch: lock the checkouts, decide, act, record — in one transaction."""

import logging
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Max, Prefetch, prefetch_related_objects
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Membership, Store
from checkouts.models.privacy import email_digests
from checkouts.services import ActivityEntry, activities_record_locked

from ..models import AutomationStep, ScheduledStep, SendReceipt, SentEmail, Unsubscribe
from ..services.contact import contact_gate_load
from ..services.discounts import discount_codes_for_batch
from ..targeting import returning_buyers
from .actions import StepResult, StepRun, perform
from .receipts import SendReceipts

logger = logging.getLogger(__name__)


class BatchNotStarted(Exception):
    """The batch failed before anything was sent: its rows can be handed back at once."""


def _lock(ids: list[int]) -> tuple[dict, list[ScheduledStep]]:
    # Checkouts first, in id order, then the steps: the same order recovery takes its locks
    # in (checkout row, then its steps), and the same order in every dispatcher, so none of
    # them can deadlock with another. The store rows are read, not locked.
    checkouts = AbandonedCheckout.objects.filter(
        pk__in=ScheduledStep.objects.filter(pk__in=ids).values("abandoned_checkout_id")
    )
    locked = {ac.pk: ac for ac in checkouts.select_for_update(of=("self",)).order_by("pk")}
    # Each store read once and shared by its checkouts, as `select_related` would have cached it
    # on each: a joined store was a Store built per row (its private key decrypted per row),
    # about a third of the cost of reading the rows.
    stores = Store.objects.in_bulk({ac.store_id for ac in locked.values()})
    cache_store = AbandonedCheckout.store.field.set_cached_value
    for ac in locked.values():
        cache_store(ac, stores[ac.store_id])
    # Re-read under the lock: a step another worker finished, or a deletion skipped, drops out.
    steps = list(
        ScheduledStep.objects.filter(pk__in=ids, state=ScheduledStep.State.RUNNING)
        .select_for_update()
        .order_by("due_at", "pk")
    )
    return locked, steps


def _configs(steps: list[ScheduledStep]) -> dict[int, AutomationStep]:
    configs = AutomationStep.objects.select_related("automation", "task_assignee__user").in_bulk(
        {s.step_id for s in steps}
    )
    # Each relation fetched (one query) only for the steps that read it: an all-email batch
    # skips the staff members, an all-staff one the translations.
    by_action = defaultdict(list)
    for step in configs.values():
        by_action[step.action].append(step)
    prefetch_related_objects(by_action[AutomationStep.Action.EMAIL_BUYER], "translations")
    members = Membership.objects.select_related("user")
    prefetch_related_objects(
        by_action[AutomationStep.Action.NOTIFY_STAFF], Prefetch("notify_members", queryset=members)
    )
    return configs


def _unsubscribed(checkouts: dict) -> set[tuple]:
    emails = {ac.email_key for ac in checkouts.values() if ac.email_key}
    if not emails:
        return set()
    # Matched by keyed hash: an erased buyer's unsubscribe keeps only the hash of the address.
    by_hash = {digest: email for email in emails for digest in email_digests(email)}
    rows = Unsubscribe.objects.filter(
        store_id__in={ac.store_id for ac in checkouts.values()}, email_hash__in=list(by_hash)
    )
    return {(store_id, by_hash[digest]) for store_id, digest in rows.values_list("store_id", "email_hash")}


def _recently_emailed(checkouts: dict, now: datetime) -> dict:
    """checkout id -> when its last recovery email (automated or by hand) went out, within the
    guard window. Read after the checkout rows are locked: a manual send holds the same lock, so
    one that committed first is seen here, and one that waits will see this batch's emails."""
    if not checkouts or settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES <= 0:
        return {}
    since = now - timedelta(minutes=settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES)
    rows = (
        SentEmail.objects.filter(
            abandoned_checkout_id__in=list(checkouts),
            kind__in=[SentEmail.Kind.AUTOMATION, SentEmail.Kind.MANUAL],
            sent_at__gt=since,
        )
        .values("abandoned_checkout_id")
        .annotate(last=Max("sent_at"))
    )
    return {row["abandoned_checkout_id"]: row["last"] for row in rows}


def _returning(checkouts: dict, configs: dict[int, AutomationStep]) -> set[tuple]:
    """Buyers with a completed order, looked up (one query) only if a condition of the batch asks."""
    if not any(step.needs_order_history or step.automation.needs_order_history for step in configs.values()):
        return set()
    return returning_buyers(abandoned_checkouts=checkouts.values())


def _already_sent(steps: list[ScheduledStep]) -> tuple[set[str], set[str]]:
    """The keys whose email is recorded as sent, and those only receipted (sent by a batch whose
    worker died before it committed). Steps on a first attempt cannot have either."""
    keys = [s.idempotency_key for s in steps if s.attempts > 1]
    if not keys:
        return set(), set()
    recorded = set(SentEmail.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    receipted = set(SendReceipt.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    return recorded, receipted - recorded


def process_batch(ids: list[int], *, receipts: SendReceipts | None = None) -> dict[str, int]:
    """Resolve claimed steps. Returns a count per outcome ("EMAIL_SENT", "AUTOMATION_SKIPPED:HOLDOUT", ...).

    `receipts` is the run's, shared by its batches (see `SendReceipts`); without it, the batch
    writes its receipts on a connection of its own."""
    if receipts is None:
        receipts = SendReceipts()
        try:
            return process_batch(ids, receipts=receipts)
        finally:
            receipts.close()
    receipts.batch_begin()
    with transaction.atomic():
        try:
            checkouts, steps = _lock(ids)
        except DatabaseError as exc:
            raise BatchNotStarted from exc
        if not steps:
            return {}
        now = timezone.now()
        already_sent, receipted = _already_sent(steps)
        configs = _configs(steps)
        run = StepRun(
            now=now,
            # Past this, no new send starts and the rest go back on the schedule: the row locks
            # a recovery waits on are held this long plus one send at most.
            deadline=time.monotonic() + settings.COMEBACK_DISPATCH_SEND_BUDGET_SECONDS,
            configs=configs,
            unsubscribed=_unsubscribed(checkouts),
            already_sent=already_sent,
            receipted=receipted,
            recently_emailed=_recently_emailed(checkouts, now),
            guard=settings.COMEBACK_MANUAL_EMAIL_GUARD_MINUTES > 0,
            returning=_returning(checkouts, configs),
            gate=contact_gate_load(checkouts),
            # Discount codes for the batch's buyer messages: claimed in one go, not per send.
            codes=discount_codes_for_batch(steps=steps, checkouts=checkouts, configs=configs, now=now),
            receipts=receipts,
        )
        try:
            outcomes = [
                (scheduled, perform(run, scheduled, checkouts.get(scheduled.abandoned_checkout_id)))
                for scheduled in steps
            ]
        finally:
            run.close()
        run.save_records()
        _receipts_spent_delete(outcomes, receipted)
        _record(outcomes, checkouts, now)
    return dict(Counter(outcome.key for _, outcome in outcomes))


def _receipts_spent_delete(outcomes: list[tuple[ScheduledStep, StepResult]], receipted: set[str]) -> None:
    """A receipted step (its worker died after the send) that has now ended without recording
    the email, because its checkout was recovered meanwhile say, has no use for the receipt
    either. One that goes back on the schedule keeps it: its email did leave."""
    spent = [
        scheduled.idempotency_key
        for scheduled, outcome in outcomes
        if scheduled.idempotency_key in receipted and not (outcome.retry_at or outcome.released)
    ]
    if spent:
        SendReceipt.objects.filter(idempotency_key__in=spent).delete()


def _record(outcomes: list[tuple[ScheduledStep, StepResult]], checkouts: dict, now: datetime) -> None:
    activities_record_locked(
        [
            ActivityEntry(
                abandoned_checkout=checkouts[s.abandoned_checkout_id],
                type=o.activity_type,
                reason=o.reason,
                detail=o.detail,
            )
            for s, o in outcomes
            if o.activity_type
        ]
    )
    # One UPDATE per kind of outcome (a handful, bounded by the reason codes), not one per row:
    # Django's bulk_update would build a CASE per row and field, slower than the sends.
    groups: dict[tuple, list[int]] = defaultdict(list)
    for scheduled, o in outcomes:
        groups[(o.state, o.reason, o.activity_type, o.error[:500], o.retry_at, o.released)].append(scheduled.pk)
    for (state, reason, activity_type, error, retry_at, released), ids in groups.items():
        changes = {"state": state, "reason": reason, "activity_type": activity_type, "last_error": error}
        if retry_at:
            changes["due_at"] = retry_at
        else:
            changes["finished_at"] = now
        if released:
            # Handed back untried: the claim's attempt does not count.
            changes["attempts"] = F("attempts") - 1
        ScheduledStep.objects.filter(pk__in=ids).update(locked_until=None, **changes)
