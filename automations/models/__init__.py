from .automation import Automation, AutomationStep, HoldoutChange, StepTranslation
from .records import Notification, SendReceipt, SentEmail, Task, Unsubscribe
from .schedule import Enrollment, Reason, ScheduledStep

__all__ = [
    "Automation",
    "AutomationStep",
    "Enrollment",
    "HoldoutChange",
    "Notification",
    "Reason",
    "ScheduledStep",
    "SendReceipt",
    "SentEmail",
    "StepTranslation",
    "Task",
    "Unsubscribe",
]
