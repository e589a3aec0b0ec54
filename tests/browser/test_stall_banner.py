"""The stall banner as a merchant sees it: on top of a dashboard page, no CSP or console problem."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from checkouts.services import scheduler_heartbeat_record
from config.probes import HEARTBEAT_CACHE_KEY

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_stale_scheduler_shows_the_banner_above_the_overview(settings, demo_user, page, shoot):
    settings.COMEBACK_STALL_BANNER = True
    cache.delete(HEARTBEAT_CACHE_KEY)
    scheduler_heartbeat_record(at=timezone.now() - timedelta(minutes=12))
    log_in(page)
    banner = page.get_by_role("alert")
    assert banner.inner_text().startswith("Background work is stalled since ")
    assert "automations and webhooks are not running" in banner.inner_text()
    shoot(page, "stall-banner")
    cache.delete(HEARTBEAT_CACHE_KEY)
