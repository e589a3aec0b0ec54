"""Webhook endpoint settings pages and the delivery log, under /settings/webhooks/."""

from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("", views.EndpointListView.as_view(), name="list"),
    path("new/", views.EndpointCreateView.as_view(), name="create"),
    path("<uuid:pk>/", views.EndpointDetailView.as_view(), name="detail"),
    path("<uuid:pk>/edit/", views.EndpointUpdateView.as_view(), name="update"),
    path("<uuid:pk>/delete/", views.EndpointDeleteView.as_view(), name="delete"),
    path("<uuid:pk>/rotate-secret/", views.RotateSecretView.as_view(), name="rotate-secret"),
    path("<uuid:pk>/test/", views.SendTestView.as_view(), name="test"),
    path("<uuid:pk>/redeliver-failed/", views.RedeliverFailedView.as_view(), name="redeliver-failed"),
    path("<uuid:pk>/deliveries/<int:delivery_id>/redeliver/", views.RedeliverView.as_view(), name="redeliver"),
]
