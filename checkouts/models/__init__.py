from .checkout import AbandonedCheckout, Activity, Checkout, CheckoutData, IngestedEvent
from .store import ApiKey, Membership, Store
from .webhooks import WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "AbandonedCheckout",
    "Activity",
    "ApiKey",
    "Checkout",
    "CheckoutData",
    "IngestedEvent",
    "Membership",
    "Store",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
