"""Load demo stores, a demo login and months of realistic abandoned checkouts."""

import random

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from checkouts.models import Membership
from checkouts.services import store_create
from config.demo import checkouts as demo

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - the documented demo login, created only by this command


class Command(BaseCommand):
    help = "Create demo stores owned by user demo/demo and fill them with abandoned checkouts."

    def add_arguments(self, parser):
        parser.add_argument("--stores", type=int, default=3, help="How many stores (default 3).")
        parser.add_argument(
            "--checkouts", type=int, default=1500, help="Abandoned checkouts per store (default 1,500)."
        )
        parser.add_argument(
            "--sizes",
            type=lambda text: [int(part) for part in text.split(",")],
            help="Per-store counts, e.g. 200000,2000 (overrides --stores and --checkouts).",
        )
        parser.add_argument("--seed", type=int, default=2026, help="Random seed, for repeatable data.")
        parser.add_argument("--live", type=int, default=25, help="Open checkouts per store, idle 0–90 min.")
        parser.add_argument("--once", action="store_true", help="Do nothing if the demo login already exists.")
        parser.add_argument(
            "--automation-history",
            action="store_true",
            help="Also write the automation's records of the history (enrollments, steps, unsubscribes, the newest "
            "emails), so its page, holdout report and sent emails show it. What make run loads; about a third "
            "slower on a million rows.",
        )

    def handle(self, *args, stores, checkouts, sizes, seed, live, once, automation_history, **options):
        sizes = sizes or [checkouts] * stores
        stores = len(sizes)
        if stores < 1 or min(sizes) < 0:
            raise CommandError("--stores must be at least 1 and --checkouts at least 0.")
        User = get_user_model()
        if once and User.objects.filter(username=DEMO_USERNAME).exists():
            self.stdout.write("Demo data is already loaded; keeping it.")
            return
        rnd = random.Random(seed)
        now = timezone.now()
        user = self._demo_user(User)
        made = []
        for index in range(stores):
            spec = dict(demo.STORES[index % len(demo.STORES)])
            if index >= len(demo.STORES):
                spec["name"] = f"{spec['name']} {index // len(demo.STORES) + 1}"
            slug = spec["name"].lower().replace(" ", "-").replace("&", "and").replace(".", "")
            spec["storefront_url"] = f"https://{slug}.shop.example.com"
            store = store_create(**spec)
            Membership.objects.update_or_create(user=user, store=store, defaults={"role": Membership.Role.OWNER})
            made.append(store)

        total = sum(sizes)
        with tqdm(total=total, unit="checkout", desc="Seeding", disable=total == 0) as bar:
            for store, count in zip(made, sizes, strict=True):
                demo.generate(
                    store, count=count, rnd=rnd, now=now, progress=bar.update, automation_history=automation_history
                )
                demo.live_checkouts(store, count=live, rnd=rnd, now=now)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {stores} store(s) with {total:,} abandoned checkouts. "
                f"Log in as '{DEMO_USERNAME}' / '{DEMO_PASSWORD}'."
            )
        )
        for store in made:
            self.stdout.write(f"  {store.name}: {store.pk}")

    @transaction.atomic
    def _demo_user(self, User):
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.com", "is_staff": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        # Staff with every permission on Comeback's own models: the admin shows all of them.
        user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["checkouts", "automations"]))
        return user
