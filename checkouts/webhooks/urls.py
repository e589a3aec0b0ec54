"""Webhook endpoint settings pages and the delivery log."""

app_name = "webhooks"

urlpatterns: list = []
