"""CPU time spent by the PostgreSQL backend serving a connection.

The machine the benchmarks run on is shared and its wall times move by 2× from one hour to
the next; the CPU seconds of this process (`time.process_time()`) and of its backend say
what the work itself cost.
"""

import os
from pathlib import Path


def backend_pid_of(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def backend_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) the backend `pid` has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
