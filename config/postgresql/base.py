"""Django's PostgreSQL backend, with a per-request health check that needs no round trip.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before the first query of
every request by running `SELECT 1`: one more round trip to PostgreSQL per request, which on
a busy host costs about what the page's own query does. A server that ends a connection
(a restart, `pg_terminate_backend`, a pooler closing it, a crash) says so on the socket: an
error message, or the end of the stream. So while the connection is idle and nothing is
waiting to be read, it is as usable as `SELECT 1` would find it; anything else (data on the
socket, a connection psycopg already knows is broken, a transaction left open) gets
Django's own check. After a database error Django still runs `SELECT 1` (`is_usable`).
"""

import select

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg import _queries, pq

# psycopg splits a query at its placeholders once and keeps the split (by query text) only when
# the query has at most 50 parameters; a dispatcher batch's `id IN (%s, ... x100)` statements
# were split again every time, about 3 % of its Python. The split depends on the text alone,
# so keeping these too changes nothing but the cost (up to psycopg's 128 kept statements).
CACHED_STATEMENT_PARAMS = 1000
if getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", CACHED_STATEMENT_PARAMS) < CACHED_STATEMENT_PARAMS:
    _queries.MAX_CACHED_STATEMENT_PARAMS = CACHED_STATEMENT_PARAMS


class DatabaseWrapper(base.DatabaseWrapper):
    def server_binding_cursor(self):
        """A cursor that sends its parameters apart from the statement, wrapped as Django wraps its own.

        Django's cursors bind client-side: each parameter is quoted into the statement's text in
        Python and lexed back out by PostgreSQL (a Shopify body of 15 kB, an ingest batch's 150 kB
        of JSON). This one binds server-side, and psycopg prepares a statement after its fifth run
        on a connection (`prepare_threshold`, DATABASE_PREPARED_STATEMENTS), so PostgreSQL parses
        and plans it once. Same health check, error wrapping, query log and time zone as `cursor()`.
        """
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = base.ServerBindingCursor(self.connection)
            loader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, pq.Format.TEXT)
            if self.timezone != loader.timezone:  # as create_cursor: only when the connection disagrees
                register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and _idle_and_quiet(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()


def _idle_and_quiet(connection) -> bool:
    """The connection is open, between transactions, and the server has sent nothing since."""
    if not hasattr(select, "poll") or connection.closed:
        return False
    pgconn = connection.pgconn
    if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
    return not poller.poll(0)
