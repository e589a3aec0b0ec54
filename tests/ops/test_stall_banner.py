"""The dashboard's banner while background work (scheduler or worker) is stalled."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkouts.services import scheduler_heartbeat_record
from config.probes import HEARTBEAT_CACHE_KEY, SCHEDULER_MAX_SILENCE
from tests.checkouts.views.conftest import signed_in

BANNER = (
    "automations and webhooks are not running. Run <code>make run</code> again or see <code>manage.py doctor</code>."
)


@pytest.fixture
def banner_on(settings):
    settings.COMEBACK_STALL_BANNER = True
    cache.delete(HEARTBEAT_CACHE_KEY)
    yield
    cache.delete(HEARTBEAT_CACHE_KEY)


@pytest.fixture
def owner_page(store, owner):
    client = signed_in(owner, store)
    return lambda: client.get("/").content.decode()


@pytest.mark.django_db
def test_a_stale_heartbeat_shows_the_banner_with_its_time_in_the_store_time_zone(banner_on, store, owner_page):
    store.time_zone = "Asia/Tokyo"
    store.save()
    # 12:00 UTC is 21:00 in Tokyo; now is 12:10 UTC, ten minutes of silence.
    last = datetime(2026, 3, 2, 12, 0, tzinfo=ZoneInfo("UTC"))
    scheduler_heartbeat_record(at=last)
    with time_machine.travel(last + timedelta(minutes=10), tick=False):
        page = owner_page()
    assert f"Background work is stalled since 21:00: {BANNER}" in page
    assert 'role="alert"' in page


@pytest.mark.django_db
def test_a_stall_from_an_earlier_day_names_the_day(banner_on, store, owner_page):
    scheduler_heartbeat_record(at=timezone.now() - timedelta(days=2))
    page = owner_page()
    since = timezone.localtime(timezone.now() - timedelta(days=2), store.zone)
    assert f"Background work is stalled since {since:%b} {since.day}, {since:%H:%M}: {BANNER}" in page


@pytest.mark.django_db
def test_no_heartbeat_ever_says_background_work_has_not_started(banner_on, owner_page):
    assert f"Background work has not started: {BANNER}" in owner_page()


@pytest.mark.django_db
def test_a_fresh_heartbeat_shows_no_banner(banner_on, owner_page):
    scheduler_heartbeat_record(at=timezone.now() - SCHEDULER_MAX_SILENCE + timedelta(seconds=30))
    assert "Background work" not in owner_page()


@pytest.mark.django_db
def test_signed_out_pages_show_no_banner(banner_on, client):
    page = client.get("/accounts/login/").content.decode()
    assert "Background work" not in page


@pytest.mark.django_db
def test_the_banner_costs_one_query_per_cache_period_and_none_once_cached(banner_on, settings, store, owner):
    scheduler_heartbeat_record(at=timezone.now() - timedelta(minutes=10))
    client = signed_in(owner, store)
    client.get("/")  # sessions, store and the page's own caches warmed up

    def heartbeat_reads() -> int:
        # Counted by table, not in total: other caches of the page may expire between two calls.
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/").status_code == 200
        return sum("schedulerheartbeat" in query["sql"] for query in captured)

    settings.COMEBACK_STALL_BANNER = False
    assert heartbeat_reads() == 0
    settings.COMEBACK_STALL_BANNER = True
    cache.delete(HEARTBEAT_CACHE_KEY)
    assert heartbeat_reads() == 1
    assert heartbeat_reads() == 0


@pytest.mark.django_db
def test_the_banner_goes_once_the_cached_heartbeat_is_fresh_again(banner_on, owner_page):
    scheduler_heartbeat_record(at=timezone.now() - timedelta(minutes=10))
    assert BANNER in owner_page()
    scheduler_heartbeat_record()
    cache.delete(HEARTBEAT_CACHE_KEY)  # what HEARTBEAT_CACHE_SECONDS does on its own
    assert BANNER not in owner_page()
