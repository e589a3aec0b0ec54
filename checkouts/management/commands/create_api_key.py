"""Create an API key for a store and print it once: only its hash is kept."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from checkouts.models import ApiKey, Store
from checkouts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a store. The key is printed once and cannot be shown again."

    def add_arguments(self, parser):
        parser.add_argument("store_id", help="The store's id (its Wix metasiteId).")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'Zapier'.")
        parser.add_argument(
            "--scopes",
            default=ApiKey.Scope.READ,
            help=f"Comma-separated, from {', '.join(ApiKey.Scope.values)} (default: read).",
        )

    def handle(self, *args, store_id, name, scopes, **options):
        try:
            store = Store.objects.get(pk=store_id)
        except (Store.DoesNotExist, ValidationError) as exc:
            raise CommandError(f"No store with id {store_id!r}.") from exc
        try:
            key, raw = api_key_create(
                store=store, name=name, scopes=[scope.strip() for scope in scopes.split(",") if scope.strip()]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"Created API key '{key.name}' for {store.name} with scopes: {', '.join(key.scopes)}.")
        self.stderr.write("Store it now: it is shown only this once.")
        self.stdout.write(raw)
