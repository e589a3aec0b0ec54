"""Re-encrypting every secret stored at rest under the first of COMEBACK_ENCRYPTION_KEYS."""

from collections.abc import Callable

from django.apps import apps
from django.db import models, transaction

from ..encryption import EncryptedTextField

# Rows re-encrypted (and locked) per transaction: a rotation never holds many locks at once.
ROTATE_BATCH = 500


def encrypted_fields() -> dict[type[models.Model], list[str]]:
    """Every model with encrypted columns, and their names (later connection models join in by using the field)."""
    found: dict[type[models.Model], list[str]] = {}
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found[model] = names
    return found


def encrypted_rows_count() -> int:
    return sum(model._default_manager.count() for model in encrypted_fields())


def encrypted_values_rotate(*, batch_size: int = ROTATE_BATCH, progress: Callable[[int], None] | None = None) -> int:
    """Re-encrypt every encrypted value under the first key; returns the rows rewritten.

    Each batch is keyset by primary key and locked while it is rewritten, so a secret rotated
    by a merchant at the same moment is neither lost nor left under the old key. A value no
    configured key opens raises `DecryptionError` (naming the column) before its batch writes.
    """
    rewritten = 0
    for model, names in encrypted_fields().items():
        last = None
        while True:
            with transaction.atomic():
                queryset = model._default_manager.order_by("pk")
                if last is not None:
                    queryset = queryset.filter(pk__gt=last)
                rows = list(queryset.select_for_update(of=("self",)).values_list("pk", *names)[:batch_size])
                for pk, *values in rows:
                    # Reading decrypted under any key; saving encrypts under the first.
                    model._default_manager.filter(pk=pk).update(**dict(zip(names, values, strict=True)))
            if not rows:
                break
            rewritten += len(rows)
            last = rows[-1][0]
            if progress is not None:
                progress(len(rows))
            if len(rows) < batch_size:
                break
    return rewritten
