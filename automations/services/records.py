"""Tasks, notifications and unsubscribes: the small writes the pages make."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Store

from ..models import Notification, Task, Unsubscribe
from ..selectors import unsubscribe_find


def task_set_done(*, task: Task, done: bool, user: AbstractBaseUser) -> Task:
    task.done_at = timezone.now() if done else None
    task.done_by = user if done else None
    task.closed_reason = ""
    Task.objects.filter(pk=task.pk).update(done_at=task.done_at, done_by=task.done_by, closed_reason="")
    return task


def tasks_close_recovered(*, abandoned_checkout: AbandonedCheckout) -> int:
    """Close the checkout's open tasks: nobody needs to call a buyer who came back and paid."""
    return Task.objects.filter(abandoned_checkout=abandoned_checkout, done_at__isnull=True).update(
        done_at=timezone.now(), closed_reason=Task.ClosedReason.RECOVERED
    )


def task_assign(*, task: Task, assignee: AbstractBaseUser | None) -> Task:
    task.assignee = assignee
    Task.objects.filter(pk=task.pk).update(assignee=assignee)
    return task


def notifications_mark_read(*, store: Store, user: AbstractBaseUser, ids=None) -> int:
    unread = Notification.objects.filter(store=store, recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def unsubscribe_create(*, store_id, email: str, source: str) -> tuple[Unsubscribe, bool]:
    """Record that `email` wants nothing more from this store. Idempotent: (row, created)."""
    email = email.strip().lower()
    existing = unsubscribe_find(store_id=store_id, email=email)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Unsubscribe.objects.create(store_id=store_id, email=email, source=source), True
    except IntegrityError:
        # Two clicks at once (the link and the mail client's one-click POST): the other one won.
        return unsubscribe_find(store_id=store_id, email=email), False


def notification_create(*, store: Store, recipient: AbstractBaseUser, text: str, link: str = "") -> Notification:
    return Notification.objects.create(store=store, recipient=recipient, text=text[:500], link=link)
