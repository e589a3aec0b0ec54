from .automation import Automation, AutomationStep, HoldoutChange, StepTranslation
from .contact import ContactLedger, ContactPolicy, TextOptOut, buyer_key, phone_digests
from .discounts import DiscountCode, DiscountGrant, DiscountOffer
from .engagement import EmailClick, RecoveryAttribution
from .records import Notification, SendReceipt, SentEmail, Task, Unsubscribe
from .schedule import Enrollment, Reason, ScheduledStep

__all__ = [
    "Automation",
    "AutomationStep",
    "ContactLedger",
    "ContactPolicy",
    "DiscountCode",
    "DiscountGrant",
    "DiscountOffer",
    "EmailClick",
    "Enrollment",
    "HoldoutChange",
    "Notification",
    "Reason",
    "RecoveryAttribution",
    "ScheduledStep",
    "SendReceipt",
    "SentEmail",
    "StepTranslation",
    "Task",
    "TextOptOut",
    "Unsubscribe",
    "buyer_key",
    "phone_digests",
]
