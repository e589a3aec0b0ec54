"""Rate limits per API key (or signed-in user), shared by every web process through the cache.

The counting itself (a sliding window over atomic counters, exact on Redis, on the file
cache and in local memory) lives in config/ratelimit.py.
"""

import logging

from django.conf import settings
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from config.ratelimit import CACHE_DOWN, sliding_window_hit

from .auth import BLOCKED_MESSAGE, ApiKeyUser

logger = logging.getLogger(__name__)


def principal_key(request) -> str | None:
    user = getattr(request, "user", None)
    if isinstance(user, ApiKeyUser):
        return user.rate_key
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


class ApiKeyRateThrottle(BaseThrottle):
    """Limits each principal to the rate in the view's `rate_setting` (a settings name)."""

    def __init__(self):
        self.wait_seconds: int | None = None

    def allow_request(self, request, view) -> bool:
        principal = principal_key(request)
        if principal is None:
            return True  # unauthenticated requests are refused before they cost anything
        setting = getattr(view, "rate_setting", "COMEBACK_API_RATE_LIMIT")
        # Authentication left the address's block to this check (`block_checked_by_throttle`).
        blocked = getattr(request, "address_block_pending", None)
        try:
            decision = sliding_window_hit(
                key=f"comeback:rate:{setting}:{principal}", rate=getattr(settings, setting), unless_blocked=blocked
            )
        except CACHE_DOWN:
            # Fail open: with the cache (Redis) down, refusing every API call would turn a
            # rate-limit outage into an ingest outage. The reverse proxy's limits still hold.
            logger.warning("Rate-limit cache unavailable; letting %s through", setting, exc_info=True)
            return True
        if decision.blocked_seconds is not None:
            raise exceptions.Throttled(decision.blocked_seconds, BLOCKED_MESSAGE)
        self.wait_seconds = decision.wait_seconds
        return decision.allowed

    def wait(self) -> int | None:
        return self.wait_seconds
