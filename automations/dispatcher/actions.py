"""Deciding what one due step does for its checkout, and doing it.

`perform` returns an StepResult; nothing here writes an activity or updates the step — the
batch records every outcome at once. Rows the actions create (sent emails, tasks,
notifications) are collected on the StepRun and inserted in bulk.
"""

import logging
import smtplib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateSyntaxError

from checkouts.inserts import instances_insert
from checkouts.models import AbandonedCheckout, Activity

from .. import notify
from ..messages import defaults
from ..messages.mime import Message
from ..messages.render import message_id_for, message_language, recovery_email, staff_text, text_message
from ..messages.variants import step_email_for, step_words
from ..models import AutomationStep, Notification, Reason, ScheduledStep, SendReceipt, SentEmail, Task
from ..selectors import checkout_path
from ..services.contact import ContactGate, consented
from ..services.discounts import DiscountCodes, NoCodeLeft
from .receipts import SendReceipts

logger = logging.getLogger(__name__)

Action = AutomationStep.Action
State = ScheduledStep.State

# Minutes to wait before retrying a failed send, by attempt: quick at first, then patient.
RETRY_MINUTES = (1, 5, 15, 60, 240)


@dataclass
class StepResult:
    state: str
    activity_type: str = ""
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    retry_at: datetime | None = None
    error: str = ""
    released: bool = False

    @property
    def key(self) -> str:
        if self.released:
            return f"DEFERRED:{self.reason}" if self.reason else "RELEASED"
        if self.retry_at:
            return "RETRY"
        label = self.activity_type or self.state
        return f"{label}:{self.reason}" if self.reason else label


@dataclass
class StepRun:
    """What one batch shares: its clock, the loaded configuration and the rows to insert."""

    now: datetime
    deadline: float
    configs: dict[int, AutomationStep]
    unsubscribed: set[tuple]
    already_sent: set[str]
    # The run's receipts (see SendReceipts): the batch confirms them, the run closes them.
    receipts: SendReceipts
    receipted: set[str] = field(default_factory=set)
    # The frequency cap's locked ledger rows, quiet hours, consent and opt-outs.
    gate: ContactGate | None = None
    # Checkout id -> last recovery email within the guard window; this batch's sends join it,
    # so two automations' steps due together for one checkout send one email.
    recently_emailed: dict = field(default_factory=dict)
    guard: bool = True  # COMEBACK_MANUAL_EMAIL_GUARD_MINUTES = 0 turns the guard off
    # (store id, email key) of buyers with a completed order, when a condition asks.
    returning: set[tuple] = field(default_factory=set)
    # The batch's discount codes (discount_codes_for_batch); a send takes its code from here.
    codes: DiscountCodes | None = None
    sent_emails: list[SentEmail] = field(default_factory=list)
    tasks: list[tuple[Task, StepResult]] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    # (step id, language) -> the step's words and whether its buyers are in its A/B test.
    words: dict[tuple, tuple] = field(default_factory=dict)
    _mailer: Any = None

    def send_email(self, message: EmailMultiAlternatives) -> None:
        # The email before this one has its receipt before this one goes out.
        self.receipts.confirm()
        # One connection for the whole batch: an SMTP server is greeted once, not per message.
        if self._mailer is None:
            self._mailer = mail.mailers.default
            self._mailer.open()
        self._mailer.send_messages([message])

    def close(self) -> None:
        if self._mailer is not None:
            self._mailer.close()
        # The last receipt committed; its connection stays for the run's next batch.
        self.receipts.confirm()

    def save_records(self) -> None:
        if self.gate is not None:
            self.gate.save(self.now)
        instances_insert(SentEmail, self.sent_emails)
        if self.codes is not None:
            self.codes.save()
        if self.receipts.written or self.receipted:
            # The SentEmail rows now carry the proof; the receipts have done their job.
            SendReceipt.objects.filter(idempotency_key__in=[e.idempotency_key for e in self.sent_emails]).delete()
        instances_insert(Notification, self.notifications)
        if self.tasks:
            Task.objects.bulk_create([task for task, _ in self.tasks])
            for task, outcome in self.tasks:
                outcome.detail["task"] = task.pk


def _detail(scheduled: ScheduledStep, step: AutomationStep | None) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "scheduledStep": scheduled.pk,
        "automation": scheduled.automation_id,
        "step": scheduled.step_id,
    }
    if step is not None:
        # Named at write time, so the timeline reads them without another query.
        detail.update(automationName=step.automation.name, position=step.position, action=step.action, label=step.label)
    return detail


def _not_done(step: AutomationStep | None, reason: str, detail: dict, *, state: str = State.SKIPPED) -> StepResult:
    """The activity for a step that sent nothing: EMAIL_NOT_SENT for an email's own reasons,
    AUTOMATION_SKIPPED for everything else."""
    email_reasons = {Reason.NO_EMAIL, Reason.UNSUBSCRIBED, Reason.SEND_FAILED, Reason.TEMPLATE_ERROR}
    is_email = step is not None and step.action == Action.EMAIL_BUYER
    activity = (
        Activity.Type.EMAIL_NOT_SENT if is_email and reason in email_reasons else Activity.Type.AUTOMATION_SKIPPED
    )
    return StepResult(state=state, activity_type=activity, reason=reason, detail=detail)


def _failed(run: StepRun, scheduled: ScheduledStep, step: AutomationStep, detail: dict, error: str) -> StepResult:
    """A send that failed: try again later, or give up once the attempts are spent."""
    if scheduled.attempts >= settings.COMEBACK_DISPATCH_MAX_ATTEMPTS:
        outcome = _not_done(step, Reason.SEND_FAILED, detail, state=State.FAILED)
        outcome.error = error
        return outcome
    wait = RETRY_MINUTES[min(scheduled.attempts, len(RETRY_MINUTES)) - 1]
    return StepResult(state=State.PENDING, retry_at=run.now + timedelta(minutes=wait), error=error)


def perform(run: StepRun, scheduled: ScheduledStep, ac: AbandonedCheckout | None) -> StepResult:
    step = run.configs.get(scheduled.step_id)
    detail = _detail(scheduled, step)
    if ac is None:
        # Deleted outside the lifecycle service: there is no checkout left to log an activity on.
        return StepResult(state=State.SKIPPED, reason=Reason.CHECKOUT_DELETED, detail=detail)
    if ac.is_recovered:
        return _not_done(step, Reason.RECOVERED, detail)
    if step is None or step.archived:
        return _not_done(step, Reason.STEP_REMOVED, detail)
    if not step.automation.active:
        return _not_done(step, Reason.AUTOMATION_OFF, detail)
    returning = (ac.store_id, ac.email_key) in run.returning
    if unmet := step.automation.unmet_condition(ac, returning=returning) or step.unmet_condition(
        ac, returning=returning
    ):
        # Named, so the timeline says which condition no longer holds.
        named = {"condition": unmet["condition"], "reasonText": unmet["text"]}
        return _not_done(step, Reason.CONDITION_NOT_MET, {**detail, **named})
    if scheduled.holdout:
        return _not_done(step, Reason.HOLDOUT, detail)
    if run.gate is not None and run.gate.superseded(ac):
        # The buyer abandoned again since: only the newest checkout's sequence writes to them.
        return _not_done(step, Reason.NEWER_CHECKOUT, detail)
    if scheduled.attempts > settings.COMEBACK_DISPATCH_MAX_ATTEMPTS:
        # Claimed again and again without finishing (a worker that keeps dying on it): stop.
        return _not_done(step, Reason.SEND_FAILED, detail, state=State.FAILED)
    if step.action != Action.CREATE_TASK and time.monotonic() > run.deadline:
        return StepResult(state=State.PENDING, retry_at=run.now, released=True)
    return ACTIONS[step.action](run, scheduled, step, ac, detail)


def _email_buyer(run, scheduled, step, ac, detail) -> StepResult:
    if not ac.buyer_email:
        return _not_done(step, Reason.NO_EMAIL, detail)
    if (ac.store_id, ac.email_key) in run.unsubscribed:
        return _not_done(step, Reason.UNSUBSCRIBED, detail)
    key = scheduled.idempotency_key
    if key in run.already_sent:
        # An earlier attempt sent it and committed its record: never write to the buyer twice.
        return StepResult(state=State.DONE, activity_type=Activity.Type.EMAIL_SENT, detail={**detail, "resent": False})
    # An earlier attempt sent it, then its worker died before the batch committed: record the
    # email (rendered again, as it was sent) without sending it.
    sent_before = key in run.receipted
    if not sent_before and run.guard and ac.pk in run.recently_emailed:
        # One recovery email per checkout within the guard window, whoever sent the first.
        last = run.recently_emailed[ac.pk]
        return _not_done(step, Reason.RECENTLY_EMAILED, {**detail, "lastEmailedAt": last.isoformat()})
    if not sent_before and (held := _held(run, step, ac, detail, channel="email")):
        return held
    try:
        code = _discount_code(run, step, ac)
    except NoCodeLeft as exc:
        return _not_done(step, Reason.NO_CODE_LEFT, {**detail, **exc.detail})
    language = message_language(ac, ac.store)
    words = run.words.get((step.pk, language))
    if words is None:
        words = run.words[step.pk, language] = step_words(step, language)
    template, variant = step_email_for(words, step, ac.pk)
    try:
        email = recovery_email(
            abandoned_checkout=ac,
            store=ac.store,
            template=template,
            idempotency_key=key,
            discount_code=code,
            open_pixel=step.automation.track_opens,
        )
    except TemplateSyntaxError as exc:
        return _not_done(step, Reason.TEMPLATE_ERROR, {**detail, "error": str(exc)[:200]})
    if not sent_before:
        try:
            run.send_email(email.message())
        except ValueError as exc:
            # The mailer refused the address itself (Django's SMTP backend cannot send to a
            # non-ASCII local part): no retry changes that, and raising would roll back the
            # records of the batch's emails already sent.
            logger.warning("Email for step %s cannot be sent: %s", scheduled.pk, exc)
            outcome = _not_done(step, Reason.SEND_FAILED, detail, state=State.FAILED)
            outcome.error = f"ValueError: {exc}"
            return outcome
        except (smtplib.SMTPException, OSError) as exc:
            logger.warning("Email for step %s failed: %s", scheduled.pk, exc)
            return _failed(run, scheduled, step, detail, f"{type(exc).__name__}: {exc}")
        run.receipts.write(idempotency_key=key, message_id=email.message_id)
    run.recently_emailed[ac.pk] = run.now
    if run.gate is not None:
        run.gate.mark_contacted(ac, run.now)
    if code:
        run.codes.mark_sent(step, ac, scheduled_step_id=scheduled.pk, key=key)
    run.sent_emails.append(
        email.sent_email(
            store_id=ac.store_id,
            abandoned_checkout=ac,
            scheduled_step=scheduled,
            kind=SentEmail.Kind.AUTOMATION,
            sent_at=run.now,
            variant=variant,
        )
    )
    detail = {**detail, "messageId": email.message_id, "language": template.language or ac.store.language}
    if variant:
        detail["variant"] = variant
    if sent_before:
        detail["resent"] = False
    return StepResult(state=State.DONE, activity_type=Activity.Type.EMAIL_SENT, detail=detail)


def _notify_buyer(run, scheduled, step, ac, detail) -> StepResult:
    if not ac.phone:
        return _not_done(step, Reason.NO_PHONE, detail)
    if (ac.store_id, ac.email_key) in run.unsubscribed or (run.gate and run.gate.text_opted_out(ac)):
        return _not_done(step, Reason.OPTED_OUT, detail)
    if held := _held(run, step, ac, detail, channel="sms"):
        return held
    try:
        code = _discount_code(run, step, ac)
    except NoCodeLeft as exc:
        return _not_done(step, Reason.NO_CODE_LEFT, {**detail, **exc.detail})
    try:
        body = text_message(abandoned_checkout=ac, store=ac.store, source=step.message, discount_code=code)
    except TemplateSyntaxError as exc:
        return _not_done(step, Reason.TEMPLATE_ERROR, {**detail, "error": str(exc)[:200]})
    try:
        notify.backend().send(notify.TextMessage(to=ac.phone, body=body, idempotency_key=scheduled.idempotency_key))
    except notify.NotificationError as exc:
        logger.warning("Text message for step %s failed: %s", scheduled.pk, exc)
        return _failed(run, scheduled, step, detail, str(exc))
    if run.gate is not None:
        run.gate.mark_contacted(ac, run.now)
    if code:
        run.codes.mark_sent(step, ac, scheduled_step_id=scheduled.pk, key=scheduled.idempotency_key)
    return StepResult(
        state=State.DONE, activity_type=Activity.Type.NOTIFICATION_SENT, detail={**detail, "channel": "sms"}
    )


def _discount_code(run: StepRun, step, ac) -> str:
    """The code this message carries ("" for none); NoCodeLeft when it offers one and none is left."""
    return run.codes.code_for(step, ac) if run.codes is not None else ""


def _held(run: StepRun, step, ac, detail: dict, *, channel: str) -> StepResult | None:
    """What stops a message to the buyer before it is rendered: no consent, the buyer's night
    (the step waits for the morning, its attempt not counted) or a message within the window."""
    gate = run.gate
    if gate is None:
        return None
    if (channel == "sms" or gate.policy(ac.store).require_email_consent) and not consented(ac, channel):
        return _not_done(step, Reason.NO_CONSENT, {**detail, "channel": channel})
    if morning := gate.held_until(ac, run.now):
        return StepResult(state=State.PENDING, reason=Reason.QUIET_HOURS, retry_at=morning, released=True)
    if last := gate.last_contact(ac, run.now):
        return _not_done(step, Reason.RECENTLY_CONTACTED, {**detail, "lastContactedAt": last.isoformat()})
    return None


def _notify_staff(run, scheduled, step, ac, detail) -> StepResult:
    members = [m for m in step.notify_members.all() if m.store_id == ac.store_id and m.user.is_active]
    if not members:
        return _not_done(step, Reason.NO_RECIPIENTS, detail)
    try:
        text = staff_text(abandoned_checkout=ac, store=ac.store, source=step.message)
    except TemplateSyntaxError as exc:
        return _not_done(step, Reason.TEMPLATE_ERROR, {**detail, "error": str(exc)[:200]})
    link = checkout_path(ac.pk)
    emailed = []
    for member in members:
        user = member.user
        run.notifications.append(
            Notification(
                store_id=ac.store_id,
                recipient=user,
                abandoned_checkout=ac,
                scheduled_step=scheduled,
                text=text,
                link=link,
                created_at=run.now,
            )
        )
        if user.email and _staff_email(run, scheduled, ac, user, text, link):
            emailed.append(user.get_username())
    recipients = [m.user.get_username() for m in members]
    return StepResult(
        state=State.DONE,
        activity_type=Activity.Type.NOTIFICATION_SENT,
        detail={**detail, "channel": "staff", "recipients": recipients, "emailed": emailed},
    )


def _staff_email(run: StepRun, scheduled, ac, user, text: str, link: str) -> bool:
    """The notification's email copy. A failure here is noted, not retried: the in-dashboard
    notification is already written and the staff member will see it under the bell."""
    key = f"{scheduled.idempotency_key}-staff-{user.pk}"
    subject = f"[{ac.store.header_name}] {text}"[:300]
    body = f"{text}\n\nOpen the checkout: {settings.COMEBACK_PUBLIC_URL}{link}\n"
    message_id = message_id_for(key)
    message = Message(
        subject=subject,
        body=body,
        to=[user.email],
        headers={"Message-ID": message_id, "X-Comeback-Idempotency-Key": key},
    )
    try:
        run.send_email(message)
    except (smtplib.SMTPException, OSError, ValueError) as exc:  # ValueError: an address the mailer refuses
        logger.warning("Staff email for step %s to user %s failed: %s", scheduled.pk, user.pk, exc)
        return False
    run.sent_emails.append(
        SentEmail(
            store_id=ac.store_id,
            abandoned_checkout=ac,
            scheduled_step=scheduled,
            kind=SentEmail.Kind.STAFF,
            idempotency_key=key,
            message_id=message_id,
            to_email=user.email,
            subject=subject,
            text_body=body,
            sent_at=run.now,
        )
    )
    return True


def _create_task(run, scheduled, step, ac, detail) -> StepResult:
    assignee = step.task_assignee.user if step.task_assignee and step.task_assignee.store_id == ac.store_id else None
    outcome = StepResult(
        state=State.DONE,
        activity_type=Activity.Type.TASK_CREATED,
        detail={**detail, "assignee": assignee.get_username() if assignee else None},
    )
    task = Task(
        store_id=ac.store_id,
        abandoned_checkout=ac,
        scheduled_step=scheduled,
        title=_task_title(step, ac),
        assignee=assignee,
        due_at=run.now + timedelta(days=step.task_due_days),
        created_at=run.now,
    )
    run.tasks.append((task, outcome))
    return outcome


def _task_title(step: AutomationStep, ac: AbandonedCheckout) -> str:
    """The title with its variables filled in ("Call Ada"), plain text: escaped where shown."""
    source = step.task_title or defaults.TASK_TITLE
    try:
        title = staff_text(abandoned_checkout=ac, store=ac.store, source=source)
    except TemplateSyntaxError:
        title = source  # saved before titles were checked: the words as typed beat no task
    return title[: Task._meta.get_field("title").max_length]


ACTIONS = {
    Action.EMAIL_BUYER: _email_buyer,
    Action.NOTIFY_BUYER: _notify_buyer,
    Action.NOTIFY_STAFF: _notify_staff,
    Action.CREATE_TASK: _create_task,
}
