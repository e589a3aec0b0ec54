"""CPU time spent by PostgreSQL serving a benchmark.

The machine the benchmarks run on is shared and its wall times move by 2× from one hour to
the next; the CPU seconds of this process (`time.process_time()`, all its threads) and of
the database say what the work itself cost.
"""

import contextlib
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


class BackendsCpu:
    """CPU seconds of the backends of every Django connection used while it is open: the
    default one and each opened meanwhile (a sweep's threads open and close their own), read
    from /proc per backend, so other users of the same server do not count.

        with BackendsCpu() as backends:
            ...
        backends.seconds
    """

    def __enter__(self) -> "BackendsCpu":
        from django.db import connection
        from django.db.backends.signals import connection_created

        self.seconds = 0.0
        self._open: dict[int, float] = {}
        connection.ensure_connection()
        self._watch(connection)
        connection_created.connect(self._created)
        return self

    def _watch(self, wrapper) -> None:
        pid = wrapper.connection.info.backend_pid
        self._open[pid] = backend_cpu_seconds(pid)
        close = wrapper.close

        def counted_close() -> None:
            # Read before the backend exits: its time is then lost to /proc.
            if wrapper.connection is not None and pid in self._open:
                self.seconds += backend_cpu_seconds(pid) - self._open.pop(pid)
            close()

        wrapper.close = counted_close

    def _created(self, sender, connection, **kwargs) -> None:
        self._watch(connection)

    def __exit__(self, *exc) -> None:
        from django.db.backends.signals import connection_created

        connection_created.disconnect(self._created)
        for pid, start in list(self._open.items()):
            with contextlib.suppress(OSError):  # closed without us
                self.seconds += backend_cpu_seconds(pid) - start
        self._open.clear()
