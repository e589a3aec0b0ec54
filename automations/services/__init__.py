"""Every write the automations app makes goes through a function here (the dispatcher aside)."""

from .automations import automation_create_default, automation_set_active, automation_step_remove
from .scheduling import automations_schedule, scheduled_steps_cancel, scheduled_steps_orphan

__all__ = [
    "automation_create_default",
    "automation_set_active",
    "automation_step_remove",
    "automations_schedule",
    "scheduled_steps_cancel",
    "scheduled_steps_orphan",
]
