"""The production beat schedule's sweepers on a 2 s clock, so a fault test sees many ticks in a minute.

Same tasks, same scheduler (`celery -A tests.faults.fast_beat beat`); only the intervals are shorter.
"""

from config.celery_app import app

TICK_SECONDS = 2.0
SWEEPS = ("abandoned-checkouts-detect", "webhook-deliveries-sweep", "scheduled-steps-dispatch")

app.conf.beat_schedule = {
    name: {**entry, "schedule": TICK_SECONDS} for name, entry in app.conf.beat_schedule.items() if name in SWEEPS
}
