"""Thin Celery tasks: each calls one service and returns quietly when there is nothing to do."""

from celery import shared_task
from django.contrib.auth import get_user_model

from checkouts.models import Store

from .dispatcher import scheduled_steps_dispatch
from .services.contact import contact_ledger_prune
from .services.manual import bulk_summary, recovery_emails_send_bulk
from .services.records import notification_create

# Stay well inside the task's soft time limit; whatever is left is picked up by the next tick.
DISPATCH_TIME_BUDGET = 60.0


@shared_task
def scheduled_steps_dispatch_task() -> dict[str, int]:
    return scheduled_steps_dispatch(time_budget=DISPATCH_TIME_BUDGET).outcomes


@shared_task
def contact_ledger_prune_task() -> int:
    return contact_ledger_prune()


@shared_task
def recovery_emails_send_bulk_task(store_id: str, ids: list[str], user_id: int) -> dict[str, int]:
    """The bulk “send recovery email” of a big selection; the merchant is notified of the counts."""
    store = Store.objects.filter(pk=store_id).first()
    user = get_user_model().objects.filter(pk=user_id).first()
    if store is None or user is None:
        return {}
    counts = recovery_emails_send_bulk(store=store, ids=ids, user=user)
    notification_create(store=store, recipient=user, text=bulk_summary(counts), link="/emails/")
    return counts
