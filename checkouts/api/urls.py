"""The JSON APIs: Wix-compatible under /ecom/v1/, the REST API under /api/v1/."""

urlpatterns: list = []
