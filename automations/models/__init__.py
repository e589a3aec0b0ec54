from .automation import Automation, AutomationStep, StepTranslation
from .records import Notification, SentEmail, Task, Unsubscribe
from .schedule import Enrollment, Reason, ScheduledStep

__all__ = [
    "Automation",
    "AutomationStep",
    "Enrollment",
    "Notification",
    "Reason",
    "ScheduledStep",
    "SentEmail",
    "StepTranslation",
    "Task",
    "Unsubscribe",
]
