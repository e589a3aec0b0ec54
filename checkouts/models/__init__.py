from .bulk import BulkJob
from .checkout import AbandonedCheckout, Activity, Checkout, CheckoutData, IngestedEvent
from .operations import SchedulerHeartbeat
from .store import ApiKey, Membership, Store
from .webhooks import WebhookEvent

__all__ = [
    "AbandonedCheckout",
    "Activity",
    "ApiKey",
    "BulkJob",
    "Checkout",
    "CheckoutData",
    "IngestedEvent",
    "Membership",
    "SchedulerHeartbeat",
    "Store",
    "WebhookEvent",
]
