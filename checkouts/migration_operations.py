"""Migration operations Django does not ship."""

from django.db import migrations


class SetCompression(migrations.operations.base.Operation):
    """Compress the large values of some columns with LZ4 instead of PostgreSQL's default pglz.

    Outbox payloads, line items and rendered emails are written far more often than they are
    read back, and a 2 kB payload goes through TOAST compression on every write: LZ4 does that
    several times faster than pglz, for about the same size. Only values written afterwards
    are compressed the new way; old ones stay readable. A no-op on other databases, and on a
    PostgreSQL older than 14 or built without LZ4 (it then keeps pglz).
    """

    reversible = True

    def __init__(self, model_name: str, fields: list[str], method: str = "lz4"):
        self.model_name = model_name
        self.fields = fields
        self.method = method

    def deconstruct(self):
        kwargs = {"model_name": self.model_name, "fields": self.fields}
        if self.method != "lz4":
            kwargs["method"] = self.method
        return self.__class__.__qualname__, [], kwargs

    def state_forwards(self, app_label, state):
        pass  # the columns' types and the model state are unchanged

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._set(app_label, schema_editor, to_state, self.method)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._set(app_label, schema_editor, to_state, "default")

    def describe(self):
        return f"Compress {', '.join(self.fields)} of {self.model_name} with {self.method}"

    def _set(self, app_label, schema_editor, state, method):
        connection = schema_editor.connection
        if connection.vendor != "postgresql" or not supports_compression(connection, self.method):
            return
        model = state.apps.get_model(app_label, self.model_name)
        quote = schema_editor.quote_name
        clauses = ", ".join(
            f"ALTER COLUMN {quote(model._meta.get_field(name).column)} SET COMPRESSION {method}" for name in self.fields
        )
        schema_editor.execute(f"ALTER TABLE {quote(model._meta.db_table)} {clauses}")


def supports_compression(connection, method: str) -> bool:
    """PostgreSQL 14+ built with `method` (Debian's and the official images are built with LZ4)."""
    if connection.pg_version < 140000:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'", [method])
        row = cursor.fetchone()
    return bool(row and row[0])
