"""Delete abandoned checkouts older than the retention period now, with a progress bar."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from checkouts.services.privacy import (
    RETENTION_BATCH,
    abandoned_checkouts_expired,
    abandoned_checkouts_retention_apply,
    retention_cutoff,
)


class Command(BaseCommand):
    help = (
        "Delete abandoned checkouts abandoned more than N days ago (default COMEBACK_RETENTION_DAYS), "
        "with their activities, emails, tasks, notifications and webhook events, in batches."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="Keep this many days (default: COMEBACK_RETENTION_DAYS).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument("--batch-size", type=int, default=RETENTION_BATCH, help="Rows per transaction.")

    def handle(self, *args, days, dry_run, batch_size, **options):
        days = settings.COMEBACK_RETENTION_DAYS if days is None else days
        if days < 0 or batch_size < 1:
            raise CommandError("--days must be 0 or more and --batch-size at least 1.")
        if days == 0:
            self.stdout.write("Retention is off (0 days): nothing deleted.")
            return
        now = timezone.now()
        cutoff = retention_cutoff(days=days, now=now)
        expired = abandoned_checkouts_expired(cutoff=cutoff).count()
        if dry_run:
            self.stdout.write(
                f"Would delete {expired:,} abandoned checkouts abandoned before {cutoff:%Y-%m-%d %H:%M} UTC."
            )
            return
        with tqdm(total=expired, unit="checkout", disable=not expired, file=self.stderr) as bar:
            deleted = abandoned_checkouts_retention_apply(
                days=days, now=now, batch_size=batch_size, progress=bar.update
            )
        self.stdout.write(f"Deleted {deleted:,} abandoned checkouts abandoned before {cutoff:%Y-%m-%d %H:%M} UTC.")
