"""OpenAPI 3 shapes of the API (drf-spectacular), kept next to the views they document.

The views render with `checkouts.wix.abandoned_checkout_to_wix`; these serializers only
describe that JSON (and the request bodies) for `/api/schema/`. The schemathesis test
checks every response against them, so a drift between the two fails the suite.
"""
