"""The Celery application: thin tasks, a beat schedule of sweepers, Django settings under CELERY_."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("comeback")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every sweeper is safe to run twice at once (conditional updates, SKIP LOCKED), so a
# second beat started by mistake duplicates work attempts, never results.
app.conf.beat_schedule = {
    "abandoned-checkouts-detect": {
        "task": "checkouts.tasks.abandoned_checkouts_detect_task",
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
}
