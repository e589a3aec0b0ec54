"""The Celery application: thin tasks, a beat schedule of sweepers, Django settings under CELERY_."""

import gc
import os

from celery import Celery, signals

from config import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("comeback")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def _logging_from_django_settings(**kwargs) -> None:
    """Workers and beat log like the web process: same format, request ids, PII redaction."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


def urlconf_load() -> None:
    """Import the URLconf and build its reverse lookup, as the first `reverse()` would."""
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 - populating is the point


@signals.worker_init.connect
def startup_heap_freeze(**kwargs) -> None:
    """Take what the worker loaded at start (Django, the apps, their modules: some 200,000
    objects) out of the garbage collector's sight, before the pool forks its children.

    A dispatcher batch makes hundreds of thousands of short-lived objects (every parsed
    email header is a small tree), which sets off collections; a full one would walk the
    whole framework every time. Frozen, it walks only what the tasks made: about a tenth of
    a dispatcher batch's time (docs/benchmarks.md). Frozen in the parent, the children never
    walk those objects either, so the memory pages they share with it stay shared.

    The URLconf is loaded first, as a web worker loads it on its first request: an email's
    links are reversed through it, and importing it (the API's views, DRF, the schema
    generator) took a second and more, inside the first dispatcher batch, while that batch held
    its checkouts' row locks.
    """
    urlconf_load()
    gc.collect()
    gc.freeze()


@signals.worker_process_init.connect
def child_heap_freeze(**kwargs) -> None:
    """What a pool child set up itself joins the frozen heap it inherited. Freezing only
    moves the collector's lists (no collection, no object touched)."""
    gc.freeze()


signals.before_task_publish.connect(logs.task_publish_add_request_id, weak=False)
signals.task_prerun.connect(logs.task_start_set_context, weak=False)
signals.task_postrun.connect(logs.task_end_clear_context, weak=False)

# Every sweeper is safe to run twice at once (conditional updates, SKIP LOCKED), so a
# second beat started by mistake duplicates work attempts, never results.
app.conf.beat_schedule = {
    "abandoned-checkouts-detect": {
        "task": "checkouts.tasks.abandoned_checkouts_detect_task",
        "schedule": 60.0,
    },
    # Proves the whole loop (beat -> broker -> worker -> database) to /readyz and doctor.
    "scheduler-heartbeat": {
        "task": "checkouts.tasks.scheduler_heartbeat_task",
        "schedule": 60.0,
    },
    # Re-queues webhook deliveries that are due (retries, lost wake-ups, expired leases).
    "webhook-deliveries-sweep": {
        "task": "checkouts.webhooks.tasks.webhook_deliveries_dispatch_task",
        "schedule": 60.0,
    },
    # Due automation steps. Every 15 s, so a step runs at most ~15 s late; steps already due
    # when scheduled are nudged on commit instead of waiting for the tick.
    "scheduled-steps-dispatch": {
        "task": "automations.tasks.scheduled_steps_dispatch_task",
        "schedule": 15.0,
    },
    "ingested-events-prune": {
        "task": "checkouts.tasks.ingested_events_prune_task",
        "schedule": 3600.0,
    },
    # Webhook deliveries waiting in the inbox whose wake-up was skipped or lost, or whose worker died.
    "connection-inbox-drain": {
        "task": "checkouts.connection_inbox_drain",
        "schedule": 10.0,
    },
    # Connection receipts (delivery ids kept to refuse replays) past the same de-duplication window.
    "connection-receipts-prune": {
        "task": "checkouts.connection_receipts_prune",
        "schedule": 3600.0,
    },
    # Frequency-cap records past their store's window: kept only while they can hold a send back.
    "contact-ledger-prune": {
        "task": "automations.tasks.contact_ledger_prune_task",
        "schedule": 3600.0,
    },
    # Abandoned checkouts past COMEBACK_RETENTION_DAYS, deleted in batches (silently: no webhooks).
    "abandoned-checkouts-retention": {
        "task": "checkouts.tasks.abandoned_checkouts_retention_task",
        "schedule": 24 * 3600.0,
    },
    # Wix pull syncs: a task per connection set up with an API key and site id (COMEBACK_WIX_PULL_SECONDS).
    "wix-pulls": {
        "task": "checkouts.connectors.wix.tasks.wix_pulls_schedule_task",
        "schedule": float(os.environ.get("COMEBACK_WIX_PULL_SECONDS", 300)),
    },
    # Dashboard bulk jobs whose wake-up was lost or whose worker died.
    "bulk-jobs-resume": {
        "task": "checkouts.tasks.bulk_jobs_resume_task",
        "schedule": 60.0,
    },
    # Stored Wix JSON for rows written without it (an admin edit, a path that does not store it).
    "abandoned-checkouts-wire-fill": {
        "task": "checkouts.tasks.abandoned_checkouts_wire_fill_task",
        "schedule": 60.0,
    },
}
