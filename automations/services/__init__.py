"""Every write the automations app makes goes through a function here (the dispatcher aside)."""

from .automations import (
    automation_create_default,
    automation_save,
    automation_set_active,
    automation_step_remove,
    step_translations_save,
)
from .scheduling import automations_schedule, scheduled_steps_cancel, scheduled_steps_orphan

__all__ = [
    "automation_create_default",
    "automation_save",
    "automation_set_active",
    "automation_step_remove",
    "automations_schedule",
    "scheduled_steps_cancel",
    "scheduled_steps_orphan",
    "step_translations_save",
]
