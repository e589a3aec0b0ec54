"""A wake-up publish with the broker down fails once, fast, logged, and never raises into the caller."""

import json
import os
import socket

import pytest

from automations.services.scheduling import DISPATCH_TASK as STEPS_DISPATCH_TASK
from checkouts.services.bulk import BULK_JOB_RUN_TASK
from checkouts.webhooks.delivery import DISPATCH_TASK, SEND_TASK
from config.celery_app import app

from .helpers import REPO, production_env, production_json, run_python

PUBLISH_WITH_BROKER_DOWN = """
import json, logging, time
import django
django.setup()
from automations.tasks import scheduled_steps_dispatch_task
from checkouts.webhooks.delivery import nudge, wake_dispatcher
from config.wakeups import wake_up_publish

logged = []
handler = logging.Handler()
handler.emit = lambda record: logged.append(record.getMessage())
logging.getLogger("config.wakeups").addHandler(handler)
results, seconds = [], []
for publish in (
    lambda: wake_up_publish(scheduled_steps_dispatch_task),
    lambda: nudge([1, 2, 3]),
    wake_dispatcher,
):
    started = time.monotonic()
    results.append(publish())
    seconds.append(time.monotonic() - started)
print(json.dumps({"results": results, "seconds": seconds, "logged": logged}))
"""


@pytest.fixture
def refused_broker() -> str:
    """A Redis URL on a local port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_publishing_with_redis_down_returns_at_once_and_logs(refused_broker):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CELERY_BROKER_URL": refused_broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONPATH": str(REPO),
    }
    done = run_python(PUBLISH_WITH_BROKER_DOWN, env)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])

    assert outcome["results"] == [False, None, None]  # the nudges swallow it too
    # One connection attempt each, no retry loop (a loop would take the 2 s connection timeout).
    assert max(outcome["seconds"]) < 1.0, outcome["seconds"]
    assert outcome["logged"] == [
        "Could not publish automations.tasks.scheduled_steps_dispatch_task; the next sweep will pick its work up",
        "Could not publish checkouts.webhooks.tasks.webhook_delivery_send_task; the next sweep will pick its work up",
        "Could not publish checkouts.webhooks.tasks.webhook_deliveries_dispatch_task; "
        "the next sweep will pick its work up",
    ]


def test_production_redis_settings_fail_fast(tmp_path):
    env = production_env(tmp_path, CELERY_BROKER_URL="redis://redis:6379/0", CACHE_URL="redis://redis:6379/1")
    configured = production_json(
        """
        import json
        from django.conf import settings
        print(json.dumps({"broker": settings.CELERY_BROKER_TRANSPORT_OPTIONS, "cache": settings.CACHES["default"]}))
        """,
        env,
    )
    assert configured["broker"]["max_retries"] == 0  # a publisher connects once, then gives up
    assert configured["cache"]["OPTIONS"] == {"socket_connect_timeout": 1, "socket_timeout": 1}


def test_every_task_woken_up_by_name_is_registered():
    for name in (BULK_JOB_RUN_TASK, DISPATCH_TASK, SEND_TASK, STEPS_DISPATCH_TASK):
        assert app.tasks[name].name == name
