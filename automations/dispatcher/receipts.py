"""Send receipts: proof, committed on a side connection, that an email left."""

import logging

import psycopg
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.utils import timezone
from psycopg import pq

from ..models import SendReceipt

logger = logging.getLogger(__name__)


class SendReceipts:
    """Writes a `SendReceipt` the moment the mail server accepts an email, on a connection of
    its own in autocommit mode, so it survives the batch's worker being killed.

    The receipt's round trip overlaps the next email's rendering: `write` sends the INSERT
    and returns, and `confirm` (called before the next email goes out, and at the end) waits
    for it. So at most one accepted email is ever without its receipt, the same window a
    receipt awaited at once leaves, and the dispatcher does not sit idle meanwhile.

    PostgreSQL only: SQLite lets one connection write at a time and the batch's transaction is
    that writer, so a receipt would wait for the very batch it must outlive. The embedded
    setup keeps the narrower guarantee (the batch's own SentEmail rows), as documented.

    One instance serves every batch of a dispatcher run (`scheduled_steps_dispatch`): its
    connection is opened at the first receipt and closed by `close`, not set up again per
    batch (some 6 ms of a 100-step batch). A connection that fails is dropped, and the next
    receipt opens another.
    """

    def __init__(self) -> None:
        self._connection = None
        self._pending = ""
        self.written = 0

    def batch_begin(self) -> None:
        """Count the receipts of a new batch (`written`)."""
        self.confirm()
        self.written = 0

    def write(self, *, idempotency_key: str, message_id: str) -> None:
        if connection.vendor != "postgresql":
            return
        self.confirm()
        try:
            if self._connection is None:
                self._connection = connections.create_connection(DEFAULT_DB_ALIAS)
                with self._connection.cursor() as cursor:
                    # What a receipt must survive is this worker dying, and once committed it
                    # is PostgreSQL's, WAL flush or not. Not waiting for the flush keeps a
                    # receipt at a round trip instead of a disk sync per email.
                    cursor.execute("SET synchronous_commit = off")
            # libpq's asynchronous call: the statement goes out now, its result is read later.
            self._connection.connection.pgconn.send_query_params(
                _RECEIPT_SQL, [idempotency_key.encode(), message_id.encode(), timezone.now().isoformat().encode()]
            )
            self._pending = idempotency_key
            self.written += 1
        except (DatabaseError, psycopg.Error) as exc:
            self._lost(idempotency_key, exc)
            self._discard()

    def confirm(self) -> None:
        """Wait for the receipt in flight, if any, to be committed."""
        if not self._pending:
            return
        key, self._pending = self._pending, ""
        try:
            pgconn = self._connection.connection.pgconn
            error = ""
            while (result := pgconn.get_result()) is not None:
                if result.status != pq.ExecStatus.COMMAND_OK:
                    error = (result.error_message or b"").decode(errors="replace").strip()
            if error:
                self._lost(key, error)
            if pgconn.status != pq.ConnStatus.OK:
                # Its server process ended (a restart, a terminated backend): reconnect next time.
                self._discard()
        except psycopg.Error as exc:
            self._lost(key, exc)
            self._discard()

    def _lost(self, idempotency_key: str, error) -> None:
        # The email went out; the batch's own record still follows. Only a crash before
        # that commit could now repeat it, as it could without receipts.
        logger.warning("Send receipt for %s not written: %s", idempotency_key, error)

    def close(self) -> None:
        if self._connection is not None:
            self.confirm()
            self._discard()

    def _discard(self) -> None:
        connection, self._connection, self._pending = self._connection, None, ""
        if connection is not None:
            try:
                connection.close()
            except (DatabaseError, psycopg.Error):
                logger.warning("Send receipt connection did not close cleanly", exc_info=True)


_RECEIPT_SQL = (
    f"INSERT INTO {SendReceipt._meta.db_table} (idempotency_key, message_id, sent_at) "  # noqa: S608  # nosec B608
    "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
).encode()
