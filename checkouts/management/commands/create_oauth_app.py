"""Register a Wix app (OAuth client credentials) and print its client secret once: only its hash is kept."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from checkouts.models import ApiKey, Store
from checkouts.services.oauth import oauth_app_create


class Command(BaseCommand):
    help = "Register an OAuth app installed on the given stores. Prints its client id, then its client secret."

    def add_arguments(self, parser):
        parser.add_argument("store_ids", nargs="*", help="Stores (Wix instance ids) the app is installed on.")
        parser.add_argument("--name", required=True, help="The app's name, e.g. 'Recovery dashboard'.")
        parser.add_argument(
            "--scopes",
            default=ApiKey.Scope.READ,
            help=f"Comma-separated, from {', '.join(ApiKey.Scope.values)} (default: read).",
        )

    def handle(self, *args, store_ids, name, scopes, **options):
        try:
            stores = [Store.objects.get(pk=store_id) for store_id in store_ids]
        except (Store.DoesNotExist, ValidationError) as exc:
            raise CommandError(f"No such store among {', '.join(store_ids)}.") from exc
        try:
            app, secret = oauth_app_create(
                name=name, scopes=[scope.strip() for scope in scopes.split(",") if scope.strip()], stores=stores
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"Registered app '{app.name}' with scopes {', '.join(app.scopes)} on {len(stores)} store(s).")
        self.stderr.write("Store the secret now: it is shown only this once.")
        self.stdout.write(f"client_id={app.client_id}")
        self.stdout.write(f"client_secret={secret}")
