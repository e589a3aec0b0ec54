"""The bounded load test, in one command: prepare, start, load, measure, report, stop.

    .venv/bin/python tests/load/run.py --duration 60        (or: make load)

1. Recreates its own PostgreSQL database (--database, default comeback_load; the name must
   contain "load"), migrates it, seeds one store with a few thousand abandoned checkouts and
   the merchant login demo/demo (`seed_demo`), and runs tests/load/prepare.py (abandon after
   1 minute, the automation's email at once, a webhook endpoint, an ingest and a read key).
2. Starts, on loopback, with production settings (config.settings.production): gunicorn with
   2 workers (4 threads each), 2 Celery workers (concurrency 1 each), one beat, all on PostgreSQL and Redis
   (--redis, db 13 by default); plus, in this process, a webhook receiver and an SMTP sink.
3. Runs locust headless: users start during the first half of the warm-up (--warmup s), the
   stats are reset when it ends, and the next --duration seconds of load are measured.
4. Measures the outbox: webhook lag (event written -> delivery succeeded), the backlog when
   the load stops and how long it takes to drain, and the automation steps' lateness.
5. Prints a Markdown report and writes it to var/load/report.md (logs and CSVs beside it).
6. Stops every process it started, on success, error or Ctrl-C. It drops only its own database.
"""

import argparse
import csv
import http.server
import json
import math
import os
import secrets
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.smtp import SmtpSink  # noqa: E402 - the project root is on the path from here on

OUT = ROOT / "var" / "load"
BIN = Path(sys.executable).parent
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# One ingest request carries this many events (the locustfile reads it too).
BATCH = 5
# Each storefront client sends one request every 2 s: a slow answer (the machine is shared)
# then delays that client's next request without lowering the rate the run asks for.
INGEST_REQUESTS_PER_CLIENT = 0.5
REQUEST_ORDER = [
    "ingest",
    "dashboard overview",
    "dashboard list",
    "dashboard list next",
    "dashboard detail",
    "dashboard export",
    "wix query",
    "wix query next",
    "wix search",
    "wix get",
    "rest list",
    "rest list next",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="Seconds of measured load (default 60).")
    parser.add_argument("--warmup", type=int, default=20, help="Seconds of load before measuring (default 20).")
    parser.add_argument("--ingest-rate", type=float, default=30, help="Checkout events per second (default 30).")
    parser.add_argument("--merchants", type=int, default=10, help="Merchants browsing the dashboard (default 10).")
    parser.add_argument("--apps", type=int, default=10, help="Apps querying the APIs (default 10).")
    parser.add_argument(
        "--dispatch-batch", type=int, help="COMEBACK_DISPATCH_BATCH_SIZE for the workers (default: the app's)."
    )
    parser.add_argument(
        "--worker-nice", type=int, default=0, help="Run Celery (workers, beat) at this nice level (default 0)."
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="Threads per gunicorn worker (default 4, as deployed: gthread workers; 1: sync workers).",
    )
    parser.add_argument("--checkouts", type=int, default=5000, help="Abandoned checkouts seeded (default 5,000).")
    parser.add_argument("--drain-timeout", type=int, default=150, help="Seconds to wait for the outbox to drain.")
    parser.add_argument(
        "--database", default="comeback_load", help="PostgreSQL database, recreated (default comeback_load)."
    )
    parser.add_argument(
        "--pg", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL, no database."
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="Broker and cache (default db 13).")
    parser.add_argument("--report", type=Path, default=OUT / "report.md", help="Where the report is written.")
    args = parser.parse_args()
    if "load" not in args.database:
        parser.error("--database is dropped and recreated: its name must contain 'load'.")
    return args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- What the app talks to: a webhook receiver and an SMTP sink ---------------------------------


class Receiver(http.server.BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Receiver.received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def serve(server) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


# --- Processes ----------------------------------------------------------------------------------


class Processes:
    """Every process the run starts, each in its own session so it can be stopped as a group."""

    def __init__(self) -> None:
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = (OUT / f"{name}.log").open("w")
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.running.append((name, process))
        return process

    def stop_all(self) -> None:
        for _, process in self.running:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, process in self.running:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.running.clear()

    def check_alive(self) -> None:
        for name, process in self.running:
            if process.poll() is not None and name != "locust":
                raise RuntimeError(f"{name} exited with {process.returncode}: see {OUT / (name + '.log')}")


def run(command: list[str], env: dict) -> str:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def recreate_database(args: argparse.Namespace) -> None:
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')


def server_env(args: argparse.Namespace, port: int, smtp_port: int) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "COMEBACK_", "DATABASE"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        COMEBACK_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"{args.pg}/{args.database}",
        CELERY_BROKER_URL=args.redis,
        CACHE_URL=args.redis,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        COMEBACK_PUBLIC_URL=f"http://127.0.0.1:{port}",
        # The load is one storefront and a handful of apps on one key each: not throttled.
        COMEBACK_API_RATE_LIMIT="100000/minute",
        COMEBACK_INGEST_RATE_LIMIT="100000/minute",
        # The receiver is on this machine, over plain HTTP.
        COMEBACK_WEBHOOK_ALLOW_HTTP="true",
        COMEBACK_WEBHOOK_ALLOW_LOOPBACK="true",
        COMEBACK_NOTIFICATION_BACKEND="file",
        COMEBACK_NOTIFICATION_FILE_PATH=str(OUT / "notifications"),
        DJANGO_STATIC_ROOT=str(OUT / "static"),
    )
    return env


def wait_ready(port: int, processes: Processes, timeout: float = 90) -> None:
    """/readyz answers 200 once the database, the broker and the scheduler's loop all work."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive()
        with suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(1)
    raise RuntimeError(f"not ready after {timeout:.0f} s: see the logs in {OUT}")


def worker_ready(processes: Processes, names: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processes.check_alive()
        if all(" ready." in (OUT / f"{name}.log").read_text(errors="replace") for name in names):
            return
        time.sleep(0.5)
    raise RuntimeError(f"Celery workers not ready after {timeout:.0f} s: see {OUT}")


# --- Measuring the outbox -------------------------------------------------------------------------


def percentiles(conn, sql: str, params: dict) -> dict:
    row = conn.execute(
        f"""SELECT count(*),
            percentile_cont(0.5) WITHIN GROUP (ORDER BY s),
            percentile_cont(0.95) WITHIN GROUP (ORDER BY s),
            percentile_cont(0.99) WITHIN GROUP (ORDER BY s),
            max(s) FROM ({sql}) AS lag""",  # noqa: S608 (sql is one of this module's constants)
        params,
    ).fetchone()
    return dict(zip(["count", "p50", "p95", "p99", "max"], row, strict=True))


def backlog(conn) -> dict:
    return {
        "deliveries open": conn.execute(
            "SELECT count(*) FROM checkouts_webhookdelivery WHERE state IN ('pending', 'delivering')"
        ).fetchone()[0],
        "steps due": conn.execute(
            "SELECT count(*) FROM automations_scheduledstep WHERE state = 'PENDING' AND due_at <= now()"
        ).fetchone()[0],
        "checkouts awaiting the sweep": conn.execute(
            "SELECT count(*) FROM checkouts_checkout WHERE abandon_due_at <= now()"
        ).fetchone()[0],
    }


class LockWatch(threading.Thread):
    """Samples, twice a second, how many of the database's sessions wait for a lock."""

    def __init__(self, url: str, database: str) -> None:
        super().__init__(daemon=True)
        self.url, self.database = url, database
        self.samples = self.waiting = self.most = 0
        # (waiting statement, the statement of the session it waits for): how often seen.
        self.pairs: Counter = Counter()
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(0.5):
                rows = conn.execute(
                    """SELECT left(w.query, 60), left(b.query, 60) FROM pg_stat_activity w
                       LEFT JOIN pg_stat_activity b ON b.pid = (pg_blocking_pids(w.pid))[1]
                       WHERE w.datname = %s AND w.wait_event_type = 'Lock'""",
                    [self.database],
                ).fetchall()
                self.samples += 1
                self.waiting += bool(rows)
                self.most = max(self.most, len(rows))
                self.pairs.update(rows)


def drain(conn, stopped: float, timeout: int) -> tuple[float | None, float | None]:
    """Seconds after the load stopped until (1) no delivery is open and no step is due, and
    (2) also no checkout awaits the sweep (the beat sweeps once a minute), with (1) holding again."""
    outbox_empty = None
    deadline = stopped + timeout
    while time.monotonic() < deadline:
        now = backlog(conn)
        if not now["deliveries open"] and not now["steps due"]:
            outbox_empty = outbox_empty or time.monotonic() - stopped
            if not now["checkouts awaiting the sweep"]:
                return outbox_empty, time.monotonic() - stopped
        time.sleep(0.5)
    return outbox_empty, None


def outbox_figures(conn, since: datetime) -> dict:
    params = {"since": since}
    lag = percentiles(
        conn,
        """SELECT extract(epoch FROM d.delivered_at - e.created_at) AS s
           FROM checkouts_webhookdelivery d JOIN checkouts_webhookevent e ON e.id = d.event_id
           WHERE e.created_at >= %(since)s AND d.state = 'succeeded'""",
        params,
    )
    steps = percentiles(
        conn,
        """SELECT extract(epoch FROM finished_at - due_at) AS s FROM automations_scheduledstep
           WHERE due_at >= %(since)s AND finished_at IS NOT NULL""",
        params,
    )
    counts = {
        "webhook events": "SELECT count(*) FROM checkouts_webhookevent WHERE created_at >= %(since)s",
        "deliveries failed or open": """SELECT count(*) FROM checkouts_webhookdelivery d JOIN checkouts_webhookevent e
            ON e.id = d.event_id WHERE e.created_at >= %(since)s AND d.state <> 'succeeded'""",
        "abandoned": "SELECT count(*) FROM checkouts_abandonedcheckout WHERE created_at >= %(since)s",
        "recovered": "SELECT count(*) FROM checkouts_abandonedcheckout WHERE checkout_recovered_at >= %(since)s",
        "steps not done": """SELECT count(*) FROM automations_scheduledstep
            WHERE due_at >= %(since)s AND finished_at IS NULL""",
    }
    return {
        "lag": lag,
        "steps": steps,
        **{name: conn.execute(sql, params).fetchone()[0] for name, sql in counts.items()},
    }


# --- CPU: how much of the machine the stack used, whatever else ran beside it ------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_cpu() -> dict[int, tuple[int, float]]:
    """{pid: (process group, CPU seconds)} for every process on the machine."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            found[int(stat.parent.name)] = (int(fields[2]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return found


def cpu_seconds(processes: Processes, args: argparse.Namespace) -> dict[str, float]:
    """CPU seconds used so far by each started process group, and by the database's backends
    (approximately: a backend that exits takes its share with it)."""
    procs = _proc_cpu()
    used = {name: 0.0 for name, _ in processes.running}
    groups = {process.pid: name for name, process in processes.running}
    for group, seconds in procs.values():
        if group in groups:
            used[groups[group]] += seconds
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        backends = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [args.database]).fetchall()
    # One entry per backend, so the difference between two readings counts each one's own share.
    used.update({f"postgres:{pid}": procs[pid][1] for (pid,) in backends if pid in procs})
    return used


def cpu_line(cpu: dict[str, float], window: float, requests: int) -> str:
    web = cpu.get("web", 0.0)
    database = sum(seconds for name, seconds in cpu.items() if name.startswith("postgres:"))
    workers = cpu.get("worker1", 0.0) + cpu.get("worker2", 0.0)
    return (
        f"- CPU used in the {window:.0f} s measured (of {os.cpu_count() * window:.0f} CPU-s on the machine): "
        f"gunicorn {web:.1f} s ({1000 * web / max(requests, 1):.0f} ms a request), Celery workers {workers:.1f} s, "
        f"beat {cpu.get('beat', 0.0):.1f} s, PostgreSQL backends ≈{database:.1f} s; the rest went to locust, "
        "to other processes on the machine, or idle."
    )


# --- The report ---------------------------------------------------------------------------------------


def locust_rows(prefix: Path) -> list[dict]:
    with (prefix.parent / f"{prefix.name}_stats.csv").open() as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    order = [name for name in REQUEST_ORDER if name in rows]
    order += sorted(name for name in rows if name not in order and name != "Aggregated")
    return [rows[name] for name in [*order, "Aggregated"] if name in rows]


def server_errors() -> dict:
    """Lines the servers logged at ERROR or worse, and gunicorn's worker timeouts."""
    found = {}
    for name in ("web", "worker1", "worker2", "beat"):
        text = (OUT / f"{name}.log").read_text(errors="replace")
        found[name] = sum(
            1
            for line in text.splitlines()
            if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line or "WORKER TIMEOUT" in line
        )
    return found


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"


def ingest_clients(rate: float) -> int:
    return max(1, math.ceil(rate / BATCH / INGEST_REQUESTS_PER_CLIENT))


def report(args, rows, outbox, backlog_at_stop, drained, received, errors, started, load, cpu, locks) -> str:
    lines = [
        f"# Load test, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"{args.duration} s measured after a {args.warmup} s warm-up, on loopback, "
        f"{os.cpu_count()} CPUs; gunicorn 2 workers"
        f"{f' of {args.threads} threads' if args.threads > 1 else ''}, 2 Celery workers, 1 beat"
        f"{f' (at nice {args.worker_nice})' if args.worker_nice else ''}"
        f"{f' (dispatch batches of {args.dispatch_batch})' if args.dispatch_batch else ''}, PostgreSQL, Redis; "
        f"production settings. Ingest {args.ingest_rate:g} events/s in batches of {BATCH} "
        f"({ingest_clients(args.ingest_rate)} storefront clients), {args.merchants} merchants, {args.apps} apps, "
        f"{args.checkouts:,} seeded abandoned checkouts. Load average (1 min) {load[0]:.1f} as the load "
        f"started, {load[1]:.1f} as it stopped.",
        "",
        "| request | count | req/s | p50 | p95 | p99 | max | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        if row["Request Count"] == "0":
            continue
        name = "**all**" if row["Name"] == "Aggregated" else row["Name"]
        lines.append(
            f"| {name} | {int(row['Request Count']):,} | {float(row['Requests/s']):.1f} | {row['50%']} ms "
            f"| {row['95%']} ms | {row['99%']} ms | {float(row['Max Response Time']):,.0f} ms "
            f"| {row['Failure Count']} |"
        )
    lag, steps = outbox["lag"], outbox["steps"]
    lines += [
        "",
        "| outbox | count | p50 | p95 | p99 | max |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| webhook lag (event written → delivered) | {lag['count']:,} | {ms(lag['p50'])} | {ms(lag['p95'])} "
        f"| {ms(lag['p99'])} | {ms(lag['max'])} |",
        f"| automation step lateness (due → done) | {steps['count']:,} | {ms(steps['p50'])} | {ms(steps['p95'])} "
        f"| {ms(steps['p99'])} | {ms(steps['max'])} |",
        "",
        f"- At the end of the load: {backlog_at_stop['deliveries open']:,} deliveries open, "
        f"{backlog_at_stop['steps due']:,} steps due, {backlog_at_stop['checkouts awaiting the sweep']:,} "
        "checkouts awaiting the minute's sweep.",
        f"- Outbox and due steps empty {ms(drained[0])} after the load stopped; everything the load "
        f"caused (the next sweep's abandonments included) done after {ms(drained[1])}.",
        f"- During the run and the drain: {outbox['webhook events']:,} webhook events, "
        f"{outbox['abandoned']:,} checkouts abandoned, {outbox['recovered']:,} recovered; the receiver got "
        f"{received['webhooks']:,} webhooks and the SMTP sink {received['emails']:,} emails; "
        f"{outbox['deliveries failed or open']:,} deliveries not succeeded, {outbox['steps not done']:,} "
        "steps not done.",
        cpu_line(cpu[0], cpu[1], sum(int(row["Request Count"]) for row in rows if row["Name"] != "Aggregated")),
        f"- Sessions waiting for a row lock: in {locks.waiting} of {locks.samples} samples (every 0.5 s of the "
        f"load), at most {locks.most} at once"
        + "".join(
            f"; `{waiting}` waited for `{blocker}` ({count}×)"
            for (waiting, blocker), count in locks.pairs.most_common(3)
        )
        + ".",
        "- Server log lines at ERROR or worse (and worker timeouts): "
        + ", ".join(f"{name} {count}" for name, count in errors.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


# --- The run -------------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    port, hook_port = free_port(), free_port()
    receiver = ThreadingServer(("127.0.0.1", hook_port), Receiver)
    smtp = SmtpSink().__enter__()
    serve(receiver)
    env = server_env(args, port, smtp.port)
    processes = Processes()
    # Ctrl-C and SIGTERM (a killed `make`) stop the processes: both unwind through `finally`,
    # even when this runs in the background of a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        print(f"Preparing {args.database} ...", flush=True)
        recreate_database(args)
        run([str(BIN / "python"), "manage.py", "migrate", "--noinput"], {**env, "DATABASE_STATEMENT_TIMEOUT": "0"})
        run(
            [str(BIN / "python"), "manage.py", "seed_demo", "--stores", "1", "--checkouts", str(args.checkouts)],
            {**env, "DATABASE_STATEMENT_TIMEOUT": "0"},
        )
        keys = json.loads(
            run(
                [
                    str(BIN / "python"),
                    str(Path(__file__).with_name("prepare.py")),
                    f"http://127.0.0.1:{hook_port}/hooks",
                ],
                env,
            )
        )
        with psycopg.connect(f"{args.pg}/{args.database}", autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")

        print(f"Starting gunicorn on 127.0.0.1:{port}, 2 Celery workers and beat ...", flush=True)
        processes.start(
            "web",
            [
                str(BIN / "gunicorn"),
                "config.wsgi",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "30",
                "--graceful-timeout",
                "10",
                "--threads",
                str(args.threads),
                # Clients here talk to gunicorn directly and idle up to 5 s between requests:
                # a server closing an idle keep-alive connection just as a client reuses it
                # fails that request (status 0). A proxy in front avoids the race with its
                # own, shorter upstream idle timeout; here the server simply waits longer.
                "--keep-alive",
                "75",
            ],
            env,
        )
        worker_env = {**env, "DATABASE_STATEMENT_TIMEOUT": "100"}
        if args.dispatch_batch:
            worker_env["COMEBACK_DISPATCH_BATCH_SIZE"] = str(args.dispatch_batch)
        # Background work may yield the CPU to the web tier: what it has not done waits in the database.
        celery_prefix = ["nice", "-n", str(args.worker_nice)] if args.worker_nice else []
        for index in (1, 2):
            processes.start(
                f"worker{index}",
                [
                    *celery_prefix,
                    str(BIN / "celery"),
                    "-A",
                    "config",
                    "worker",
                    "--concurrency",
                    "1",
                    "-n",
                    f"load{index}@%h",
                    "--loglevel",
                    "INFO",
                ],
                worker_env,
            )
        worker_ready(processes, ["worker1", "worker2"])
        processes.start(
            "beat",
            [
                *celery_prefix,
                str(BIN / "celery"),
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(OUT / "celerybeat-schedule"),
            ],
            worker_env,
        )
        wait_ready(port, processes)

        clients = ingest_clients(args.ingest_rate)
        users = clients + args.merchants + args.apps
        requests_per_second = args.ingest_rate / BATCH / clients
        locust_env = {
            **os.environ,
            "LOAD_INGEST_KEY": keys["ingest_key"],
            "LOAD_READ_KEY": keys["read_key"],
            "LOAD_USERNAME": "demo",
            "LOAD_PASSWORD": "demo",
            "LOAD_INGEST_BATCH": str(BATCH),
            "LOAD_INGEST_USERS": str(clients),
            "LOAD_INGEST_RPS": f"{requests_per_second:.4f}",
            "LOAD_MERCHANT_WEIGHT": str(args.merchants),
            "LOAD_APP_WEIGHT": str(args.apps),
            "LOAD_WARMUP": str(args.warmup),
        }
        prefix = OUT / "locust"
        started = datetime.now(UTC)
        load_at_start = os.getloadavg()[0]
        print(
            f"Load: {args.warmup} s warm-up + {args.duration} s measured, {users} users "
            f"({args.ingest_rate:g} events/s) ...",
            flush=True,
        )
        locust = processes.start(
            "locust",
            [
                str(BIN / "locust"),
                "-f",
                str(LOCUSTFILE),
                "--headless",
                "--host",
                f"http://127.0.0.1:{port}",
                "-u",
                str(users),
                "-r",
                f"{2 * users / max(args.warmup, 1):.3f}",
                "-t",
                f"{args.warmup + args.duration}s",
                "--stop-timeout",
                "10",
                "--csv",
                str(prefix),
                "--only-summary",
            ],
            locust_env,
        )
        measure_from = time.monotonic() + args.warmup
        locks = LockWatch(f"{args.pg}/postgres", args.database)
        locks.start()
        cpu_before = None
        while locust.poll() is None:
            processes.check_alive()
            if cpu_before is None and time.monotonic() >= measure_from:
                cpu_before = cpu_seconds(processes, args)
            time.sleep(0.5)
        stopped = time.monotonic()
        locks.stop.set()
        load_at_stop = os.getloadavg()[0]
        cpu = {name: used - (cpu_before or {}).get(name, 0) for name, used in cpu_seconds(processes, args).items()}
        cpu_window = stopped - measure_from

        print("Load stopped; waiting for the outbox to drain ...", flush=True)
        with psycopg.connect(f"{args.pg}/{args.database}", autocommit=True) as conn:
            at_stop = backlog(conn)
            drained = drain(conn, stopped, args.drain_timeout)
            outbox = outbox_figures(conn, started)
        text = report(
            args,
            locust_rows(prefix),
            outbox,
            at_stop,
            drained,
            {"webhooks": Receiver.received, "emails": len(smtp.accepted)},
            server_errors(),
            started,
            (load_at_start, load_at_stop),
            (cpu, cpu_window),
            locks,
        )
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text)
        print("\n" + text)
        print(f"Written to {args.report}; logs and locust CSVs in {OUT}.")
        return 0
    finally:
        processes.stop_all()
        receiver.shutdown()
        smtp.__exit__(None, None, None)


if __name__ == "__main__":
    sys.exit(main())
