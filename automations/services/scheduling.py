"""Putting automations on the durable schedule, and taking them off it again.

Everything here runs inside a checkouts lifecycle transaction (through `checkouts.hooks`),
so the schedule commits or rolls back with the change that caused it.
"""

import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

import orjson
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED, Prefetch
from django.utils import timezone

from checkouts.inserts import array_literal, insert_rows, instances_from_rows, json_text, uuid_array
from checkouts.models import AbandonedCheckout, Activity
from checkouts.services import ActivityEntry, activities_insert, activities_record_bulk
from config.wakeups import wake_up_publish

from ..models import Automation, AutomationStep, Enrollment, Reason, ScheduledStep, SendReceipt
from ..targeting import returning_buyers

logger = logging.getLogger(__name__)

# The dispatcher's task, by name: automations.tasks imports the services.
DISPATCH_TASK = "automations.tasks.scheduled_steps_dispatch_task"
# Holdout draws need no cryptographic strength, only independence from anything the buyer does.
_random = random.Random()


def _active_automations(store_ids: set) -> dict:
    steps = AutomationStep.objects.filter(archived=False).order_by("position", "id")
    automations = (
        Automation.objects.active()
        .filter(store_id__in=store_ids)
        .prefetch_related(Prefetch("steps", queryset=steps, to_attr="live_steps"))
        .order_by("created_at", "id")
    )
    by_store: dict = defaultdict(list)
    for automation in automations:
        if automation.live_steps:
            by_store[automation.store_id].append(automation)
    return by_store


_ENROLLMENT_COLUMNS = ["store_id", "automation_id", "abandoned_checkout_id", "holdout", "created_at"]
_STEP_COLUMNS = ["store_id", "automation_id", "step_id", "abandoned_checkout_id", "due_at", "holdout", "created_at"]


def automations_schedule(*, abandoned_checkouts: Sequence[AbandonedCheckout], written: bool = True) -> list[Activity]:
    """Enrol each new abandoned checkout in every active automation of its store whose conditions
    it meets: its steps go on the schedule (due = abandonment + delay) and it gets one SCHEDULED
    activity per automation. Set-based: a constant number of statements whatever the batch size.
    Returns the SCHEDULED activities.

    `written=False`: the sweep has not inserted the checkouts yet; their rows and `created`
    events take the returned activities (`hooks.abandoned_checkouts_created`).
    """
    if not abandoned_checkouts:
        return []
    by_store = _active_automations({ac.store_id for ac in abandoned_checkouts})
    if not by_store:
        return []
    now = timezone.now()
    returning = _returning(abandoned_checkouts, by_store)
    # (checkout, automation, holdout) of each enrollment; the rows follow from these.
    enrolled = []
    for ac in abandoned_checkouts:
        for automation in by_store.get(ac.store_id, ()):
            if not automation.matches(ac, returning=bool(returning) and (ac.store_id, ac.email_key) in returning):
                continue
            holdout = automation.holdout_percent > 0 and _random.random() * 100 < automation.holdout_percent
            enrolled.append((ac, automation, holdout))
    if not enrolled:
        return []
    # The dispatcher is woken now if a step is already due (a short delay, a late sweep).
    automations = {automation.id: automation for _, automation, _ in enrolled}
    soonest = {pk: min(step.delay for step in automation.live_steps) for pk, automation in automations.items()}
    due_now = any(ac.created_at + soonest[automation.id] <= now for ac, automation, _ in enrolled)
    if not written and connection.vendor == "postgresql":
        activities = _enrolled_insert(enrolled, now=now)
    else:
        activities = _enrolled_insert_rows(enrolled, now=now, written=written)
    if due_now:
        _nudge_dispatcher()
    return activities


def _scheduled_detail(automation: Automation, holdout: bool) -> dict:
    return {
        "automation": automation.pk,
        "automationName": automation.name,
        "steps": len(automation.live_steps),
        "holdout": holdout,
        "label": _scheduled_label(automation, holdout),
    }


def _enrolled_insert_rows(enrolled: Sequence[tuple], *, now: datetime, written: bool) -> list[Activity]:
    """The enrollments, steps and SCHEDULED activities as plain rows (COPY on PostgreSQL)."""
    enrollments, steps, entries = [], [], []
    for ac, automation, holdout in enrolled:
        enrollments.append((ac.store_id, automation.pk, ac.pk, holdout, now))
        for step in automation.live_steps:
            steps.append((ac.store_id, automation.pk, step.pk, ac.pk, ac.created_at + step.delay, holdout, now))
        entries.append(
            ActivityEntry(
                abandoned_checkout=ac, type=Activity.Type.SCHEDULED, detail=_scheduled_detail(automation, holdout)
            )
        )
    insert_rows(Enrollment, _ENROLLMENT_COLUMNS, enrollments)
    insert_rows(ScheduledStep, _STEP_COLUMNS, steps)
    return activities_record_bulk(entries) if written else activities_insert(entries)


def _enrolled_insert(enrolled: Sequence[tuple], *, now: datetime) -> list[Activity]:
    """The sweep's form on PostgreSQL: one statement writes the enrollments, their steps and the
    SCHEDULED activities from arrays of the enrollments (the steps and the two details of each
    automation are joined in the database), instead of a row per step and activity sent by COPY.
    Returns the activities, unsaved instances as `activities_insert` returns them."""
    automations = {automation.pk: automation for _, automation, _ in enrolled}
    details = {
        (pk, holdout): _scheduled_detail(automation, holdout)
        for pk, automation in automations.items()
        for holdout in (False, True)
    }
    steps = [(pk, step.pk, step.delay) for pk, automation in automations.items() for step in automation.live_steps]
    params = {
        # As array literals: Django would render a list's elements one by one (inserts.uuid_array).
        "ac_ids": uuid_array([ac.id for ac, _, _ in enrolled]),
        "store_ids": uuid_array([ac.store_id for ac, _, _ in enrolled]),
        "automation_ids": array_literal([automation.id for _, automation, _ in enrolled]),
        "holdouts": array_literal([holdout for _, _, holdout in enrolled]),
        "created": array_literal([ac.created_at for ac, _, _ in enrolled]),
        "step_automations": [row[0] for row in steps],
        "step_ids": [row[1] for row in steps],
        "step_delays": [row[2] for row in steps],
        "detail_automations": [key[0] for key in details],
        "detail_holdouts": [key[1] for key in details],
        "details": [orjson.dumps(detail).decode() for detail in details.values()],
        "now": now,
        "scheduled": Activity.Type.SCHEDULED,
    }
    enrollment_defaults = _defaults(Enrollment, _ENROLLMENT_COLUMNS, params)
    step_defaults = _defaults(ScheduledStep, _STEP_COLUMNS, params)
    activity_defaults = _defaults(Activity, _ACTIVITY_COLUMNS, params)
    table = connection.ops.quote_name
    sql = f"""
        WITH matched AS (
            SELECT * FROM unnest(%(ac_ids)s::uuid[], %(store_ids)s::uuid[], %(automation_ids)s::bigint[],
                %(holdouts)s::boolean[], %(created)s::timestamptz[])
                AS m (abandoned_checkout_id, store_id, automation_id, holdout, created_at)
        ), enrollments AS (
            INSERT INTO {table(Enrollment._meta.db_table)}
                ({_columns(Enrollment, _ENROLLMENT_COLUMNS, enrollment_defaults)})
            SELECT store_id, automation_id, abandoned_checkout_id, holdout, %(now)s{enrollment_defaults.values}
            FROM matched
        ), steps AS (
            INSERT INTO {table(ScheduledStep._meta.db_table)} ({_columns(ScheduledStep, _STEP_COLUMNS, step_defaults)})
            SELECT m.store_id, m.automation_id, step.id, m.abandoned_checkout_id, m.created_at + step.delay, m.holdout,
                %(now)s{step_defaults.values}
            FROM matched AS m
            JOIN unnest(%(step_automations)s::bigint[], %(step_ids)s::bigint[], %(step_delays)s::interval[])
                AS step (automation_id, id, delay) ON step.automation_id = m.automation_id
        )
        INSERT INTO {table(Activity._meta.db_table)} ({_columns(Activity, _ACTIVITY_COLUMNS, activity_defaults)})
        SELECT m.store_id, m.abandoned_checkout_id, %(scheduled)s, detail.detail, %(now)s{activity_defaults.values}
        FROM matched AS m
        JOIN unnest(%(detail_automations)s::bigint[], %(detail_holdouts)s::boolean[], %(details)s::jsonb[])
            AS detail (automation_id, holdout, detail)
            ON detail.automation_id = m.automation_id AND detail.holdout = m.holdout
    """  # noqa: S608  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return instances_from_rows(
        Activity,
        ["id", "store_id", "abandoned_checkout_id", "type", "reason", "detail", "created_at"],
        [
            (None, ac.store_id, ac.id, Activity.Type.SCHEDULED, "", details[(automation.id, holdout)], now)
            for ac, automation, holdout in enrolled
        ],
    )


_ACTIVITY_COLUMNS = ["store_id", "abandoned_checkout_id", "type", "detail", "created_at"]


class _Defaults(NamedTuple):
    names: list[str]
    values: str


def _defaults(model, given: Sequence[str], params: dict) -> _Defaults:
    """The model's other columns with their Django defaults, as parameters (as `insert_rows` does)."""
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.attname in given or field.primary_key or field.db_default is not NOT_PROVIDED:
            continue
        name = f"{model._meta.model_name}_{field.attname}"
        params[name] = json_text(field.get_default())
        names.append(field.attname)
        values.append(f", CAST(%({name})s AS {field.db_type(connection)})")
    return _Defaults(names, "".join(values))


def _columns(model, given: Sequence[str], defaults: _Defaults) -> str:
    fields = {field.attname: field for field in model._meta.concrete_fields}
    return ", ".join(connection.ops.quote_name(fields[name].column) for name in [*given, *defaults.names])


def _returning(abandoned_checkouts: Sequence[AbandonedCheckout], by_store: dict) -> set[tuple]:
    """The returning buyers among them, looked up only when an automation asks (one query)."""
    targeting = {store_id for store_id, autos in by_store.items() if any(a.needs_order_history for a in autos)}
    if not targeting:
        return set()
    return returning_buyers(abandoned_checkouts=[ac for ac in abandoned_checkouts if ac.store_id in targeting])


def _nudge_dispatcher() -> None:
    # A lost wake-up only waits for the next 15 s tick.
    transaction.on_commit(lambda: wake_up_publish(DISPATCH_TASK))


def scheduled_steps_cancel(*, abandoned_checkout: AbandonedCheckout, reason: str) -> int:
    """Cancel a checkout's pending steps, each with its AUTOMATION_SKIPPED activity.

    Runs inside the recovery (or erasure) transaction, which holds the checkout's row lock;
    the dispatcher takes that same lock before acting, so a step is either already done or
    cancelled here, never both. Rows already claimed (RUNNING) are left to the dispatcher,
    which sees the recovery under the lock and skips them with the same reason.
    """
    # Locked as read: a dispatcher claiming at this moment skips them, or has them first and
    # they drop out of this list (then it sees the recovery under the checkout's lock).
    pending = list(
        ScheduledStep.objects.filter(abandoned_checkout=abandoned_checkout, state=ScheduledStep.State.PENDING)
        .select_related("step__automation")
        .select_for_update(of=("self",))
        .order_by("due_at", "id")
    )
    if not pending:
        return 0
    # A step a dead worker had claimed (attempts > 0) may have left the receipt of its email;
    # cancelled, it will never come back for it.
    if claimed_before := [scheduled.idempotency_key for scheduled in pending if scheduled.attempts]:
        SendReceipt.objects.filter(idempotency_key__in=claimed_before).delete()
    activities_record_bulk(
        [
            ActivityEntry(
                abandoned_checkout=abandoned_checkout,
                type=Activity.Type.AUTOMATION_SKIPPED,
                reason=reason,
                detail=_step_detail(scheduled),
            )
            for scheduled in pending
        ]
    )
    return ScheduledStep.objects.filter(pk__in=[s.pk for s in pending]).update(
        state=ScheduledStep.State.CANCELLED,
        reason=reason,
        activity_type=Activity.Type.AUTOMATION_SKIPPED,
        finished_at=timezone.now(),
    )


def scheduled_steps_orphan(*, abandoned_checkout_ids: Sequence[UUID]) -> int:
    """The checkouts are being deleted: their unfinished steps end as skipped (the rows stay,
    detached, so the automation's counts still add up; activities go with the checkout)."""
    return ScheduledStep.objects.filter(
        abandoned_checkout_id__in=abandoned_checkout_ids,
        state__in=[ScheduledStep.State.PENDING, ScheduledStep.State.RUNNING],
    ).update(
        state=ScheduledStep.State.SKIPPED,
        reason=Reason.CHECKOUT_DELETED,
        finished_at=timezone.now(),
        locked_until=None,
    )


def _scheduled_label(automation: Automation, holdout: bool) -> str:
    count = len(automation.live_steps)
    label = f"{automation.name} · {count} step{'s' if count != 1 else ''}"
    return f"{label} (held out: nothing will be sent)" if holdout else label


def _step_detail(scheduled: ScheduledStep) -> dict:
    return {
        "scheduledStep": scheduled.pk,
        "automation": scheduled.automation_id,
        "step": scheduled.step_id,
        "position": scheduled.step.position,
        "action": scheduled.step.action,
        "label": scheduled.step.label,
    }


def due_steps_exist(*, now: datetime | None = None) -> bool:
    return ScheduledStep.objects.filter(state=ScheduledStep.State.PENDING, due_at__lte=now or timezone.now()).exists()
