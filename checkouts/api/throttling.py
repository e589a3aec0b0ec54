"""Rate limits per API key (or signed-in user), shared by every web process through the cache.

A sliding-window counter: the current fixed window's count plus the previous window's,
weighted by how much of it still overlaps the last `period` seconds. Two cache reads and
one atomic increment per request (atomic on Redis; close enough on the file cache), and no
burst of twice the limit at a window boundary, as a plain fixed window allows.
"""

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.throttling import BaseThrottle

from .auth import ApiKeyUser

logger = logging.getLogger(__name__)

# What the cache raises when it cannot be reached: Redis's errors, or the file cache's disk.
CACHE_DOWN = (RedisError, OSError)

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/minute' → (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


def principal_key(request) -> str | None:
    user = getattr(request, "user", None)
    if isinstance(user, ApiKeyUser):
        return f"key:{user.api_key.prefix}"
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
        try:
            return self._allow(principal, setting)
        except CACHE_DOWN:
            # Fail open: with the cache (Redis) down, refusing every API call would turn a
            # rate-limit outage into an ingest outage. The reverse proxy's limits still hold.
            logger.warning("Rate-limit cache unavailable; letting %s through", setting, exc_info=True)
            return True

    def _allow(self, principal: str, setting: str) -> bool:
        limit, period = parse_rate(getattr(settings, setting))
        now = time.time()
        window = int(now // period)
        elapsed = now - window * period
        prefix = f"comeback:rate:{setting}:{principal}"
        current_key, previous_key = f"{prefix}:{window}", f"{prefix}:{window - 1}"
        cache.add(current_key, 0, timeout=period * 2)
        try:
            current = cache.incr(current_key)
        except ValueError:  # expired between add and incr
            cache.set(current_key, 1, timeout=period * 2)
            current = 1
        previous = cache.get(previous_key) or 0
        weight = 1 - elapsed / period
        if previous * weight + current <= limit:
            return True
        # A refused request does not use up the budget.
        cache.decr(current_key)
        current -= 1
        self.wait_seconds = self._wait(limit, period, elapsed, previous, current)
        return False

    @staticmethod
    def _wait(limit: int, period: int, elapsed: float, previous: int, current: int) -> int:
        """Seconds until one more request fits, from the same estimate `allow_request` makes."""
        if current < limit:
            # Room in this window once the previous window's weight has shrunk enough.
            return max(1, math.ceil(period * (1 - (limit - current - 1) / previous) - elapsed))
        # This window is full: wait into the next, until this window's weight has shrunk enough.
        return max(1, math.ceil(period - elapsed + period * (1 - (limit - 1) / current)))

    def wait(self) -> int | None:
        return self.wait_seconds
