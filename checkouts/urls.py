"""Dashboard pages: overview, checkouts list and detail, export, settings."""

app_name = "checkouts"

urlpatterns: list = []
