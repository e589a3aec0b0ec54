"""Real, throwaway services for the fault tests: processes this test starts, and only those, it stops.

Celery workers and beat, a Redis server, a PostgreSQL cluster, a web server (gunicorn) and
an SMTP sink. Every wait polls for a condition with a generous bound: the machine may be
shared and slow, so no sleep is tuned to its speed.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from glob import glob
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKER_CONCURRENCY = 2  # pool processes per test worker


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(
    condition: Callable[[], object], *, timeout: float, every: float = 0.1, what: str | Callable[[], str] = "condition"
) -> float:
    """Poll until `condition()` is truthy; return the seconds it took. Fails after `timeout`,
    naming `what` (a callable is asked only then: a log tail, say)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what() if callable(what) else what}")
        time.sleep(every)
    return time.monotonic() - started


def live_database_url() -> str:
    """The test database, as a URL a subprocess can use."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def base_env(**overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.faults.settings",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "COMEBACK_WEBHOOK_ALLOW_LOOPBACK": "true",
        "PYTHONPATH": str(ROOT),
    }
    env.update(overrides)
    return env


class Process:
    """A subprocess in its own session, so one killpg stops it and its children (a pool, workers)."""

    def __init__(self, argv: list[str], *, env: dict[str, str], log: Path):
        self.argv, self.env, self.log = argv, env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> "Process":
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group: no shutdown, no acks, no cleanup."""
        if self.running:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text()[-chars:] if self.log.exists() else ""


@contextlib.contextmanager
def supervised(*processes: Process, every: float = 0.5) -> Iterator[list[str]]:
    """Restart any of `processes` that exits on its own, as `Restart=always` does in the
    systemd units (deploy/systemd). Yields the log of restarts ("worker exited with 1").
    Leave the block before killing them, or they come back."""
    restarts: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(every):
            for process in processes:
                if process.process is not None and not process.running:
                    restarts.append(f"{process.log.stem} exited with {process.process.returncode}")
                    process.start()

    watcher = threading.Thread(target=watch, name="supervisor", daemon=True)
    watcher.start()
    try:
        yield restarts
    finally:
        stop.set()
        watcher.join()


def celery(command: str, *, env: dict[str, str], log: Path, app: str = "config", args: tuple = ()) -> Process:
    """`celery -A <app> worker|beat` with the test's environment."""
    argv = [str(BIN / "celery"), "-A", app, command, "--loglevel", "WARNING", *args]
    if command == "worker":
        argv += [
            "--concurrency",
            str(WORKER_CONCURRENCY),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    return Process(argv, env=env, log=log)


def fast_beat(*, env: dict[str, str], directory: Path, name: str = "beat") -> Process:
    """A beat on the seconds-long schedule of `tests.faults.fast_beat`, its files in `directory`."""
    return celery(
        "beat",
        app="tests.faults.fast_beat",
        env=env,
        log=directory / f"{name}.log",
        args=("--schedule", str(directory / f"{name}-schedule"), "--pidfile", str(directory / f"{name}.pid")),
    )


# --- Redis ----------------------------------------------------------------------------


class RedisServer:
    """A throwaway redis-server on a free port (never the shared 6379): no persistence."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.process = Process(argv, env=dict(os.environ), log=self.workdir / "redis.log").start()
        wait_until(self.answers, timeout=30, what=f"redis on port {self.port}")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process:
            self.process.kill()  # as abrupt as a crash; it persists nothing anyway


# --- PostgreSQL -----------------------------------------------------------------------


def postgres_bin(name: str) -> str | None:
    found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    return found[-1]


class PostgresCluster:
    """A throwaway cluster (initdb, trust auth) on a free port: never the shared 5432.

    PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
    """

    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="comeback-faults-pg-"))
        self.data = self.dir / "data"
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *argv: str, timeout: float = 120) -> None:
        subprocess.run([*self.prefix, *argv], check=True, capture_output=True, timeout=timeout)

    def url(self, name: str = "comeback") -> str:
        user = "postgres" if self.prefix else os.environ.get("USER", "postgres")
        return f"postgres://{user}@127.0.0.1:{self.port}/{name}"

    def init(self) -> None:
        if self.prefix:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(postgres_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres" if self.prefix else "")
        self.start()
        self._run(postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "comeback")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} -c fsync=off"
        self._run(
            postgres_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "pg.log"), "-w", "start"
        )

    def stop(self) -> None:
        self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self._run(postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


# --- Web ------------------------------------------------------------------------------


class WebServer(Process):
    """gunicorn serving config.wsgi, as in production: two sync workers, a 30 s request timeout."""

    def __init__(self, *, env: dict[str, str], log: Path):
        self.port = free_port()
        argv = [str(BIN / "gunicorn"), "config.wsgi", "--workers", "2", "--threads", "4"]
        argv += ["--bind", f"127.0.0.1:{self.port}", "--timeout", "30", "--log-level", "warning"]
        super().__init__(argv, env=env, log=log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "WebServer":
        super().start()
        wait_until(self._healthy, timeout=60, every=0.2, what=lambda: f"gunicorn on {self.port}\n{self.tail()}")
        return self

    def _healthy(self) -> bool:
        assert self.running, self.tail()
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False
