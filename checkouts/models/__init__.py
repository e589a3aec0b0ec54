from .bulk import BulkJob
from .checkout import AbandonedCheckout, Activity, Checkout, CheckoutData, IngestedEvent
from .clicks import RecoveryLinkVisit
from .operations import SchedulerHeartbeat
from .privacy import ErasureRecord
from .store import ApiKey, Membership, Store
from .webhooks import WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "AbandonedCheckout",
    "Activity",
    "ApiKey",
    "BulkJob",
    "Checkout",
    "CheckoutData",
    "ErasureRecord",
    "IngestedEvent",
    "Membership",
    "RecoveryLinkVisit",
    "SchedulerHeartbeat",
    "Store",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
