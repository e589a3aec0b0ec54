from .bulk import BulkJob
from .checkout import AbandonedCheckout, Activity, Checkout, CheckoutData, IngestedEvent
from .clicks import RecoveryLinkVisit
from .connections import Connection, ConnectionReceipt
from .history import TimelineEvent
from .invitations import Invitation
from .oauth import OAuthApp
from .operations import SchedulerHeartbeat
from .privacy import ErasureRecord
from .store import ApiKey, Membership, Store
from .webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "AbandonedCheckout",
    "Activity",
    "ApiKey",
    "BulkJob",
    "Checkout",
    "CheckoutData",
    "Connection",
    "ConnectionReceipt",
    "ErasureRecord",
    "IngestedEvent",
    "Invitation",
    "Membership",
    "OAuthApp",
    "RecoveryLinkVisit",
    "SchedulerHeartbeat",
    "Store",
    "TimelineEvent",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
