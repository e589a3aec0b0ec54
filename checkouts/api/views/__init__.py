"""API views: Wix-compatible (/ecom/v1/), REST (/api/v1/), ingest, the recovery link."""
