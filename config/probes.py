"""The checks behind /readyz and `manage.py doctor`: database, migrations, broker, scheduler.

Each returns a `Probe` and never raises: a failure is a result, reported by name.
"""

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django.utils.timesince import timesince
from kombu import Connection

# A probe answers within about a second so a load balancer or an operator never waits on it.
BROKER_TIMEOUT_SECONDS = 1
# The heartbeat is written every 60 s: three missed ticks mean the scheduler (or every worker)
# is down, not just busy for a moment.
SCHEDULER_MAX_SILENCE = timedelta(minutes=3)
# The dashboard's stall banner reads the heartbeat through the cache: at most one query per
# this many seconds per cache, however many pages are served. A banner 30 s late is fine
# next to the three minutes of silence that raise it.
HEARTBEAT_CACHE_KEY = "comeback:scheduler-heartbeat"
HEARTBEAT_CACHE_SECONDS = 30


@dataclass(frozen=True)
class Probe:
    name: str
    ok: bool
    detail: str
    duration_ms: float = 0.0


def describe_failure(exc: Exception) -> str:
    """The exception in one short line: its class and the first line of its message."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line}"[:300]


def _timed(name: str, check: Callable[[], tuple[bool, str]]) -> Probe:
    started = time.monotonic()
    try:
        ok, detail = check()
    except Exception as exc:  # any failure of a dependency is the probe's answer
        ok, detail = False, describe_failure(exc)
    return Probe(name, ok, detail, round((time.monotonic() - started) * 1000, 1))


def _database() -> tuple[bool, str]:
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, f"{connection.vendor} answers"


def _migrations() -> tuple[bool, str]:
    loader = MigrationExecutor(connections[DEFAULT_DB_ALIAS]).loader
    # Every known migration, not just a plan to the leaves: a merge migration can be applied
    # while one of the branches it merges is not.
    plan = sorted(set(loader.graph.nodes) - set(loader.applied_migrations))
    if plan:
        pending = ", ".join(f"{app}.{name}" for app, name in plan[:5])
        more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
        return False, f"{len(plan)} migration(s) not applied: {pending}{more}. Run `manage.py migrate`."
    return True, "all applied"


def _broker() -> tuple[bool, str]:
    options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "socket_timeout": BROKER_TIMEOUT_SECONDS}
    with Connection(
        settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=options
    ) as broker:
        broker.ensure_connection(max_retries=0)
        return True, f"{broker.transport_cls} answers"


def _scheduler() -> tuple[bool, str]:
    from checkouts.selectors import scheduler_heartbeat_latest

    beat_at = scheduler_heartbeat_latest()
    if beat_at is None:
        return False, "no heartbeat yet: is `celery beat` running, and at least one worker?"
    age = timezone.now() - beat_at
    if scheduler_stalled(beat_at):
        return False, f"last heartbeat {timesince(beat_at)} ago: is `celery beat` running, and at least one worker?"
    return True, f"last heartbeat {int(age.total_seconds())} s ago"


def scheduler_heartbeat_cached() -> datetime | None:
    """The scheduler's last heartbeat (None: never), from the cache when it holds it."""
    from checkouts.selectors import scheduler_heartbeat_latest

    try:
        # Wrapped in a tuple: a heartbeat that never happened (None) is an answer worth caching too.
        cached = cache.get(HEARTBEAT_CACHE_KEY)
    except Exception:  # an unreachable cache costs the page one query, never the page
        cached = None
    if cached is not None:
        return cached[0]
    beat_at = scheduler_heartbeat_latest()
    with contextlib.suppress(Exception):
        cache.set(HEARTBEAT_CACHE_KEY, (beat_at,), HEARTBEAT_CACHE_SECONDS)
    return beat_at


def scheduler_stalled(beat_at: datetime | None, *, now: datetime | None = None) -> bool:
    """No heartbeat, or none for longer than the readiness probe allows."""
    return beat_at is None or (now or timezone.now()) - beat_at > SCHEDULER_MAX_SILENCE


def database() -> Probe:
    return _timed("database", _database)


def migrations() -> Probe:
    return _timed("migrations", _migrations)


def broker() -> Probe:
    return _timed("broker", _broker)


def scheduler() -> Probe:
    return _timed("scheduler", _scheduler)


def readiness() -> list[Probe]:
    """Every check, in order. With the database down the checks that need it are not attempted."""
    db = database()
    if not db.ok:
        skipped = "not checked: the database is unreachable"
        return [db, Probe("migrations", False, skipped), broker(), Probe("scheduler", False, skipped)]
    return [db, migrations(), broker(), scheduler()]
