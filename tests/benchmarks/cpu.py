"""CPU time spent by PostgreSQL serving a benchmark.

The machine the benchmarks run on is shared and its wall times move by 2× from one hour to
the next; the CPU seconds of this process (`time.process_time()`, all its threads) and of
the database say what the work itself cost.
"""

import os
from pathlib import Path


def backend_pid_of(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _stat(pid: int | str) -> list[str]:
    # The fields after the command name, which may itself hold spaces and parentheses.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def backend_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) the backend `pid` has used so far (Linux /proc)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds the whole PostgreSQL server behind backend `pid` has used so far: its
    running processes (backends, WAL writer, checkpointer) and the backends that have exited,
    which the postmaster has reaped (their time is in its children's total). So the work of
    connections a benchmark opens and closes (the sweep's threads) is counted too."""
    postmaster = int(_stat(pid)[1])
    fields = _stat(postmaster)
    ticks = int(fields[13]) + int(fields[14])  # cutime + cstime: reaped children
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                child = _stat(entry.name)
            except OSError:
                continue  # exited meanwhile
            if int(child[1]) == postmaster:
                ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")
