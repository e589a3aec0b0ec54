"""`make run`'s layout survives its processes being killed, and Ctrl-C stops all of it.

The real layout (deploy/local/supervisord.conf: runserver, a celery worker, celery beat) on
the embedded defaults `make run` uses (SQLite, the filesystem broker, mail in files), in a
var/ of its own and on a free port. One after another the scheduler, the worker's child
process, the worker's main process and the web server are SIGKILLed. Before each kill a
checkout goes idle (ingested through the web API); after it, the sweep must abandon it and its
automation must email the buyer: work resumed and nothing was lost. Finally SIGINT, as Ctrl-C,
must stop every process within 10 s.

It needs no PostgreSQL or Redis and stops neither: it runs in the embedded (SQLite) pass of
CI, where `make run`'s defaults are the suite's too.
"""

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from .embedded import PROGRAMS, MakeRunLayout
from .helpers import figure, idle_event, post_json
from .services import wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="runs in the embedded (SQLite) pass, as `make run` does"),
]

# A sweep runs every 60 s (the production schedule, unchanged) and the email follows at once:
# a checkout waits at most a tick after the restart. The bound only ends a hopeless wait.
RESUME_TIMEOUT = 150
CTRL_C_LIMIT = 10  # seconds, the promise in the README


@pytest.fixture
def layout(tmp_path):
    layout = MakeRunLayout(tmp_path / "var")
    layout.var.mkdir()
    layout.manage("migrate", "--noinput")
    layout.key = layout.python("-m", "tests.faults.embedded", "seed").strip()
    layout.start()
    yield layout
    layout.stop()


def ingest(layout: MakeRunLayout, external_id: str) -> None:
    """A checkout idle for an hour, through the web API; retried while a restarted web server comes up."""
    event = idle_event(external_id, since=timezone.now() - timedelta(hours=1))

    def accepted() -> bool:
        try:
            status, _, _ = post_json(f"{layout.url}/api/v1/checkout-events", {"events": [event]}, key=layout.key)
        except OSError:
            return False
        return status == 200

    wait_until(accepted, timeout=60, every=0.5, what=lambda: f"ingest of {external_id}\n{layout.tail()}")


def kill(pid: int) -> float:
    """SIGKILL one process; when it happened."""
    os.kill(pid, signal.SIGKILL)
    return time.monotonic()


def test_make_run_restarts_whatever_is_killed_loses_no_work_and_stops_on_ctrl_c(layout):
    assert len({layout.pid(name) for name in PROGRAMS}) == 3, "web, worker and beat are separate processes"
    # The worker runs its tasks in threads: it has no pool process whose death could leave tasks
    # reserved and never run (what prefork did on the filesystem broker), and no helper either
    # (supervisord itself reads the output): no child at all.
    worker = layout.pid("worker")
    assert Path(f"/proc/{worker}/task/{worker}/children").read_text().split() == []

    figures = {}
    # The scheduler, the listener that prints everyone's output, the worker, the web server.
    victims = ("beat", "console", "worker", "web")
    for program in victims:
        external_id = f"before-{program}-kill"
        before = layout.pid(program)
        shown = layout.tail(10**9).count("worker | ")
        ingest(layout, external_id)
        killed_at = kill(before)
        wait_until(
            lambda program=program, before=before: layout.pid(program) not in (0, before),
            timeout=60,
            what=lambda program=program: f"{program} restarted after its kill\n{layout.tail()}",
        )
        restarted = time.monotonic() - killed_at
        address = f"{external_id}@example.com"
        wait_until(
            lambda address=address: layout.emails_to(address) == 1,
            timeout=RESUME_TIMEOUT,
            every=0.5,
            what=lambda address=address: f"the email to {address}\n{layout.tail()}",
        )
        figures[program] = f"restarted in {restarted:.1f} s, email sent {time.monotonic() - killed_at:.0f} s after"
        assert layout.abandoned(external_id) == 1
        # The console still prints the worker's lines, prefixed ("Marked 1 checkouts abandoned").
        wait_until(lambda shown=shown: layout.tail(10**9).count("worker | ") > shown, timeout=30, what=layout.tail)

    # Every checkout ingested before a kill: abandoned once, emailed once, nothing repeated later.
    for program in victims:
        external_id = f"before-{program}-kill"
        assert layout.abandoned(external_id) == 1
        assert layout.emails_to(f"{external_id}@example.com") == 1

    started = time.monotonic()
    layout.interrupt()
    wait_until(
        lambda: layout.supervisord.poll() is not None and not layout.leftovers(),
        timeout=60,
        what=lambda: f"every process to stop: {layout.leftovers()}\n{layout.tail()}",
    )
    stopped = time.monotonic() - started
    figure("make run", **figures, ctrl_c=f"{stopped:.1f} s")
    assert stopped <= CTRL_C_LIMIT, layout.tail()
    assert layout.supervisord.returncode == 0
