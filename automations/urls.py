"""Automation, task and notification pages."""

app_name = "automations"

urlpatterns: list = []
