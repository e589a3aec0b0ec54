"""`make run`'s process layout, for the fault tests: supervisord with web, worker and beat on
the embedded defaults (SQLite, filesystem broker, mail in files), all in a var/ of its own.

Run as a script (`python -m tests.faults.embedded seed`) inside that layout's environment, it
creates the store the test works with and prints its API key.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

from .services import BIN, ROOT, free_port, wait_until

CONFIG = ROOT / "deploy" / "local" / "supervisord.conf"
PROGRAMS = ("web", "worker", "beat")
# What `make run` leaves to the embedded defaults: none of the suite's services may leak in.
SERVICE_VARIABLES = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "REDIS_URL", "EMAIL_URL", "PYTEST_XDIST_WORKER")


class MakeRunLayout:
    """`supervisord -c deploy/local/supervisord.conf` with the environment the Makefile's `run` gives it."""

    def __init__(self, var: Path):
        self.var = var
        self.port = free_port()
        self.env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
        self.env.update(
            DJANGO_SETTINGS_MODULE="config.settings.local",
            COMEBACK_PUBLIC_URL=f"http://127.0.0.1:{self.port}",
            COMEBACK_VAR_DIR=str(var),
            PORT=str(self.port),
            PYTHONPATH=str(ROOT),
        )
        self.log = var.parent / "make-run.log"
        self.supervisord: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def python(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def start(self) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        # Appended, as a terminal would show it: supervisord and its programs write to one file.
        with self.log.open("a") as out:
            # Its own session, like `make run` in a terminal: the programs get their own
            # process groups from supervisord, so a Ctrl-C reaches supervisord alone.
            self.supervisord = subprocess.Popen(
                [str(BIN / "supervisord"), "-c", str(CONFIG)],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(lambda: all(self.pid(name) for name in PROGRAMS), timeout=60, what=self.tail)
        wait_until(self.healthy, timeout=120, every=0.2, what=self.tail)

    def pid(self, program: str) -> int:
        """The program's pid while supervisord has it RUNNING, else 0 ("console" is the output listener)."""
        assert self.supervisord.poll() is None, self.tail()
        done = subprocess.run(
            [
                str(BIN / "supervisorctl"),
                "-c",
                str(CONFIG),
                "status",
                program if program == "console" else f"comeback:{program}",
            ],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        words = done.stdout.split()
        if "RUNNING" not in words:
            return 0
        return int(words[words.index("pid") + 1].rstrip(","))

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def interrupt(self) -> None:
        """Ctrl-C in the terminal: SIGINT to the foreground process group (here supervisord's)."""
        os.killpg(self.supervisord.pid, signal.SIGINT)

    def leftovers(self) -> list[str]:
        """Every process still alive that was started for this layout (found by its var/ in the environment)."""
        mark = f"COMEBACK_VAR_DIR={self.var}".encode()
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if mark in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(f"{proc.name}: {(proc / 'cmdline').read_bytes().replace(b'\0', b' ').decode()[:120]}")
            except OSError:  # gone meanwhile, or not ours to read
                continue
        return found

    def stop(self) -> None:
        """After a test, whatever happened: nothing of the layout stays running."""
        if self.supervisord and self.supervisord.poll() is None:
            self.interrupt()
            try:
                self.supervisord.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.supervisord.pid, signal.SIGKILL)
        for line in self.leftovers():
            os.kill(int(line.split(":")[0]), signal.SIGKILL)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    # --- What the layout did, read from its files ----------------------------------------

    def emails_to(self, address: str) -> int:
        mail = self.var / "mail"
        if not mail.exists():
            return 0
        header = f"\nTo: {address}\n"
        return sum(path.read_text(errors="replace").count(header) for path in mail.iterdir())

    def abandoned(self, external_id: str) -> int:
        with sqlite3.connect(self.var / "comeback.sqlite3", timeout=20) as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM checkouts_abandonedcheckout a JOIN checkouts_checkout c ON a.checkout_id = c.id"
                " WHERE c.external_id = ?",
                (external_id,),
            ).fetchone()
        return count


def seed() -> str:
    """A store whose automation emails the buyer as soon as a checkout is abandoned; its ingest key."""
    from automations.models import AutomationStep, ContactPolicy
    from checkouts.services import api_key_create, store_create

    store = store_create(name="Faults")
    # The test runs at any hour: no quiet hours holding its emails until the morning.
    ContactPolicy.objects.create(store=store, window_hours=0, quiet_hours=False)
    AutomationStep.objects.filter(automation__store=store).update(delay_value=0, delay_unit="MINUTES")
    _, raw = api_key_create(store=store, name="faults", scopes=["ingest"])
    return raw


if __name__ == "__main__" and sys.argv[1:] == ["seed"]:
    import django

    django.setup()
    print(seed())
