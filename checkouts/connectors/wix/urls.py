"""Wix's per-connection webhook address: /connect/wix/<token>/webhook."""

from django.urls import path

from . import views

urlpatterns = [
    path("<str:token>/webhook", views.WixWebhookView.as_view(), name="connect-wix-webhook"),
]
