"""gunicorn for the benchmarks: started on a free port, waited for, stopped, in one `with`.

Every benchmark that a client would reach over HTTP times it through a real gunicorn, so the
lines that pick a port, start it and wait for `/healthz` live here once:

    with gunicorn_server(production_env(DJANGO_SETTINGS_MODULE="config.settings.production")) as server:
        HTTPConnection("127.0.0.1", server.port) ...

`production_env` is this process's environment without its Django and Comeback settings, plus
what production settings require (a fresh secret key, the host, a console mailer, plain logs at
WARNING) and the caller's overrides. Benchmarks on test settings pass their own environment.
"""

import os
import secrets
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# How long gunicorn may take to answer /healthz (a loaded machine imports Django slowly).
START_SECONDS = 30


@dataclass
class Server:
    port: int
    process: subprocess.Popen

    @property
    def worker_pids(self) -> list[int]:
        """The gunicorn workers' process ids (for their CPU time in /proc)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return [int(pid) for pid in children.split()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(**overrides: str) -> dict[str, str]:
    """This environment minus DJANGO_* and COMEBACK_*, plus production's required settings and `overrides`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "COMEBACK_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        EMAIL_URL="consolemail://",
        COMEBACK_LOG_FORMAT="plain",
        DJANGO_LOG_LEVEL="WARNING",
    )
    env.update(overrides)
    return env


@contextmanager
def gunicorn_server(
    env: dict[str, str], *, workers: int = 1, threads: int = 1, root: Path = ROOT, args: tuple[str, ...] = ()
) -> Iterator[Server]:
    """gunicorn serving `config.wsgi` from `root` with `env`, answering /healthz; stopped on exit.

    `threads` > 1 is gunicorn's gthread worker (the Procfile's), 1 its sync worker.
    """
    port = free_port()
    command = [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--workers", str(workers), "--threads", str(threads)]
    process = subprocess.Popen([*command, "--bind", f"127.0.0.1:{port}", *args], cwd=root, env=env)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        yield Server(port=port, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
