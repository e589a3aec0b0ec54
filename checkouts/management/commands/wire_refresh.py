"""Store the ready Wix JSON of every abandoned checkout whose JSON is missing or stale."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from ...models import AbandonedCheckout
from ...services.wire import abandoned_checkouts_wire_fill


class Command(BaseCommand):
    help = (
        "Fill each abandoned checkout's stored Wix JSON where it is missing or stale (after a migration, "
        "a change of COMEBACK_PUBLIC_URL or of a store's language), in batches. Safe while the app runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", help="Only this store's abandoned checkouts (its id).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, store=None, no_progress=False, **options):
        rows = AbandonedCheckout.objects.filter(**({"store_id": store} if store else {}))
        with tqdm(total=rows.count(), unit="row", desc="Wire JSON", disable=no_progress) as bar:
            filled = abandoned_checkouts_wire_fill(store_id=store, progress=bar.update)
        self.stdout.write(self.style.SUCCESS(f"Stored the Wix JSON of {filled:,} abandoned checkout(s)."))
