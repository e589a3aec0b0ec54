"""Dashboard pages: overview, checkouts list and detail, export, bulk jobs, settings, sign-in."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

app_name = "checkouts"

account_urls = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(success_url=reverse_lazy("checkouts:password_change_done")),
        name="password_change",
    ),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path(
        "accounts/password/reset/",
        views.PasswordResetView.as_view(success_url=reverse_lazy("checkouts:password_reset_done")),
        name="password_reset",
    ),
    path("accounts/password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("checkouts:password_reset_complete")),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("stores/switch/", views.StoreSwitchView.as_view(), name="store_switch"),
    path("invitations/<str:token>/", views.InvitationView.as_view(), name="invitation"),
]

urlpatterns = [
    *account_urls,
    path("", views.OverviewView.as_view(), name="overview"),
    path("checkouts/", views.CheckoutListView.as_view(), name="list"),
    path("checkouts/export.csv", views.CheckoutExportView.as_view(), name="export"),
    path("checkouts/bulk/confirm/", views.BulkConfirmView.as_view(), name="bulk_confirm"),
    path("checkouts/bulk/delete/", views.BulkStartView.as_view(action="DELETE"), name="bulk_delete"),
    path("checkouts/bulk/anonymise/", views.BulkStartView.as_view(action="ANONYMISE"), name="bulk_anonymise"),
    path("checkouts/bulk/<uuid:pk>/", views.BulkJobView.as_view(), name="bulk_job"),
    path("checkouts/<uuid:pk>/", views.CheckoutDetailView.as_view(), name="detail"),
    path("checkouts/<uuid:pk>/delete/", views.CheckoutDeleteView.as_view(), name="delete"),
    path("checkouts/<uuid:pk>/anonymise/", views.CheckoutAnonymiseView.as_view(), name="anonymise"),
    path("settings/", views.StoreSettingsView.as_view(), name="settings"),
    path("settings/members/", views.MembersView.as_view(), name="members"),
    path("settings/members/<int:pk>/", views.MemberChangeView.as_view(), name="member_change"),
    path("settings/members/<int:pk>/remove/", views.MemberRemoveView.as_view(), name="member_remove"),
    path(
        "settings/members/invitations/<uuid:pk>/revoke/",
        views.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    path("settings/api-keys/", views.ApiKeysView.as_view(), name="api_keys"),
    path("settings/privacy/", views.PrivacyView.as_view(), name="privacy"),
    path("settings/api-keys/<int:pk>/revoke/", views.ApiKeyRevokeView.as_view(), name="api_key_revoke"),
]
