"""The dashboard's HTML views. JSON APIs live in checkouts.api."""

from .accounts import InvitationView, PasswordResetView, StoreSwitchView
from .bulk import BulkConfirmView, BulkJobView, BulkStartView
from .checkout_detail import CheckoutAnonymiseView, CheckoutDeleteView, CheckoutDetailView
from .checkout_list import CheckoutListView
from .export import CheckoutExportView
from .overview import OverviewView
from .privacy import PrivacyView
from .settings import (
    ApiKeyRevokeView,
    ApiKeysView,
    InvitationRevokeView,
    MemberChangeView,
    MemberRemoveView,
    MembersView,
    StoreSettingsView,
)

__all__ = [
    "ApiKeyRevokeView",
    "ApiKeysView",
    "BulkConfirmView",
    "BulkJobView",
    "BulkStartView",
    "CheckoutAnonymiseView",
    "CheckoutDeleteView",
    "CheckoutDetailView",
    "CheckoutExportView",
    "CheckoutListView",
    "InvitationRevokeView",
    "InvitationView",
    "MemberChangeView",
    "MemberRemoveView",
    "MembersView",
    "OverviewView",
    "PasswordResetView",
    "PrivacyView",
    "StoreSettingsView",
    "StoreSwitchView",
]
