"""Limits on signing in and on password-reset emails: when a lockout ends, whether a reset may go out.

Failed sign-ins are counted by django-axes (config/settings/base.py); password-reset emails
by the cache's atomic sliding windows (config/ratelimit.py).
"""

import logging
from datetime import datetime

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from config.ratelimit import CACHE_DOWN, hashed, sliding_window_hit

logger = logging.getLogger(__name__)


def login_lockout_ends_at(*, username: str | None, ip_address: str | None) -> datetime:
    """The latest moment the lockout of this user name or address can last until.

    Failures count until the cool-off has passed since they were made, so the lockout is
    over at the latest one cool-off after the newest counted failure of either.
    """
    now = timezone.now()
    matching = Q(pk__in=[])
    if username:
        matching |= Q(username=username)
    if ip_address:
        matching |= Q(ip_address=ip_address)
    newest = AccessAttempt.objects.filter(matching, attempt_time__gte=now - settings.AXES_COOLOFF_TIME).aggregate(
        newest=Max("attempt_time")
    )["newest"]
    return (newest or now) + settings.AXES_COOLOFF_TIME


def password_reset_allowed(*, email: str, ip_address: str | None) -> bool:
    """Count one password-reset request; False once the address or the email has had its share.

    The email is counted whether or not an account has it, and only hashed into the key.
    With the cache unreachable the request goes through, as the API's limits do.
    """
    limits = [("email", hashed(email.strip().lower()), settings.COMEBACK_PASSWORD_RESET_EMAIL_RATE)]
    if ip_address:
        limits.insert(0, ("ip", ip_address, settings.COMEBACK_PASSWORD_RESET_IP_RATE))
    try:
        for kind, value, rate in limits:
            if not sliding_window_hit(key=f"comeback:password-reset:{kind}:{value}", rate=rate).allowed:
                logger.warning("Password reset refused: too many requests for this %s", kind)
                return False
    except CACHE_DOWN:
        logger.warning("Rate-limit cache unavailable; letting a password reset through", exc_info=True)
    return True
