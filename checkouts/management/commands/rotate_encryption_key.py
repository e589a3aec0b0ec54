"""Re-encrypt every secret stored at rest with the first key of COMEBACK_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from checkouts.encryption import DecryptionError, fernet, generate_key
from checkouts.services.secrets import ROTATE_BATCH, encrypted_fields, encrypted_rows_count, encrypted_values_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value (webhook secrets, stores' signing keys, connection secrets) "
        "under the first key of COMEBACK_ENCRYPTION_KEYS, in batches. To rotate: put a new key first, "
        "keep the old ones after it, restart, run this, then drop the old keys. --new-key prints a fresh key."
    )

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true", help="Print a new Fernet key and change nothing.")
        parser.add_argument("--batch-size", type=int, default=ROTATE_BATCH, help="Rows per transaction.")

    def handle(self, *args, new_key, batch_size, **options):
        if new_key:
            self.stdout.write(generate_key())
            return
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        fernet()  # a missing or malformed key stops here, before any row is read
        columns = ", ".join(
            f"{model._meta.label}.{name}" for model, names in encrypted_fields().items() for name in names
        )
        total = encrypted_rows_count()
        try:
            with tqdm(total=total, unit="row", disable=not total, file=self.stderr) as bar:
                rewritten = encrypted_values_rotate(batch_size=batch_size, progress=bar.update)
        except DecryptionError as exc:
            raise CommandError(
                f"{exc} Nothing in that batch was changed; earlier batches are under the new key."
            ) from exc
        self.stdout.write(f"Re-encrypted {rewritten:,} rows under the first key ({columns}).")
