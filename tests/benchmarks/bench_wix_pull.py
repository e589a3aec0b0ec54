"""The Wix pull at the judged size: 10,000 abandoned checkouts from a second Comeback acting as Wix.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<a database of your own> \\
        .venv/bin/python tests/benchmarks/bench_wix_pull.py [ROWS]

Migrates the database, writes a source store with ROWS (default 10,000) abandoned checkouts
(a quarter recovered, some with activities) and an API key, starts gunicorn (one worker, test
settings) serving it as "Wix", and pulls it into a second store through a Wix connection whose
base URL is that server. Then: 100 changes on the source (50 recovered, 50 new), a second pull,
and a rerun. After each pull the rows, statuses, recovery times and activities of the two stores
are compared; the rerun must write nothing. Prints the time of each pull and the rows read.
Both stores are deleted at the end.
"""

import os
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from checkouts.connectors.wix.sync import wix_pull  # noqa: E402
from checkouts.models import AbandonedCheckout, Activity, Connection, IngestedEvent, Store  # noqa: E402
from checkouts.services import abandoned_checkout_recover, api_key_create  # noqa: E402
from tests.benchmarks.server import gunicorn_server  # noqa: E402

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
START = datetime(2026, 1, 1, tzinfo=UTC)
ITEM = {"quantity": 1, "productName": {"original": "Mug"}, "price": {"amount": "20", "convertedAmount": "20"}}


def server_env() -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "COMEBACK_API_RATE_LIMIT": "1000000/minute"}


def source_rows(store: Store, count: int, offset: int = 0, base: datetime = START) -> None:
    rows = []
    for index in range(offset, offset + count):
        created = base + timedelta(minutes=index - offset)
        recovered = index % 4 == 0
        rows.append(
            AbandonedCheckout(
                store=store,
                checkout_external_id=f"co-{index}",
                cart_id=f"cart-{index}",
                buyer_email=f"buyer{index}@example.com",
                first_name="Ada",
                currency="USD",
                subtotal=Decimal(10 + index % 90),
                total=Decimal(10 + index % 90),
                line_items=[ITEM],
                status="RECOVERED" if recovered else "ABANDONED",
                created_at=created,
                updated_at=created + (timedelta(minutes=30) if recovered else timedelta(0)),
                checkout_recovered_at=created + timedelta(minutes=30) if recovered else None,
            )
        )
    AbandonedCheckout.objects.bulk_create(rows, batch_size=1000)
    acs = AbandonedCheckout.objects.filter(
        store=store, cart_id__in=[f"cart-{i}" for i in range(offset, offset + count, 5)]
    )
    Activity.objects.bulk_create(
        [Activity(store=store, abandoned_checkout=ac, type="SCHEDULED", created_at=ac.created_at) for ac in acs],
        batch_size=1000,
    )


def ms(moment: datetime | None) -> datetime | None:
    """The wire carries milliseconds, as Wix's does."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000) if moment else None


def state(store: Store, key: str) -> dict:
    return {
        getattr(ac, key): (
            ac.status,
            ms(ac.created_at),
            ms(ac.checkout_recovered_at),
            ac.total,
            ac.buyer_email,
            ac.activities.count() if key == "cart_id" else ac.activities.filter(detail__source="wix").count(),
        )
        for ac in AbandonedCheckout.objects.filter(store=store)
    }


def compare(source: Store, mirror: Store) -> None:
    # Activity counts are compared on a sample: reading all 10,000 one by one would dominate the run.
    theirs, ours = state(source, "cart_id"), state(mirror, "checkout_external_id")
    missing = sorted(theirs.keys() - ours.keys())
    assert not missing and theirs.keys() == ours.keys(), f"{len(theirs)} on the site, {len(ours)} pulled: {missing[:5]}"
    different = [key for key in theirs if theirs[key] != ours[key]]
    assert not different, (
        f"{len(different)} rows differ, e.g. {different[0]}: {theirs[different[0]]} != {ours[different[0]]}"
    )
    print(f"  match: {len(ours)} rows, {sum(1 for v in ours.values() if v[0] == 'RECOVERED')} recovered")


def pull(connection: Connection, label: str):
    connection.refresh_from_db()
    began = time.perf_counter()
    result = wix_pull(connection)
    elapsed = time.perf_counter() - began
    print(f"{label}: {result.rows} rows in {result.pages} pages, {elapsed:.1f} s ({result.rows / elapsed:.0f} rows/s)")
    return result


def main() -> None:
    assert "postgres" in settings.DATABASES["default"]["ENGINE"], "run it on PostgreSQL (DATABASE_URL)"
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = True
    call_command("migrate", verbosity=0)
    source = Store.objects.create(name="Bench Wix site", currency="USD")
    mirror = Store.objects.create(name="Bench Wix mirror", currency="USD")
    stack = ExitStack()  # the server, stopped before the stores are deleted
    try:
        source_rows(source, ROWS)
        _, key = api_key_create(store=source, name="bench", scopes=["read"])
        server = stack.enter_context(gunicorn_server(server_env()))
        connection = Connection.objects.create(
            store=mirror,
            platform="wix",
            secret=key,
            settings={"site_id": str(source.id), "base_url": f"http://127.0.0.1:{server.port}"},
        )
        pull(connection, "backfill")
        compare(source, mirror)

        for ac in AbandonedCheckout.objects.filter(store=source, status="ABANDONED").order_by("created_at")[:50]:
            abandoned_checkout_recover(abandoned_checkout_id=ac.pk, recovered_at=ac.created_at + timedelta(hours=1))
        source_rows(source, 50, offset=ROWS, base=datetime.now(UTC) - timedelta(hours=3))
        pull(connection, "incremental (50 recovered, 50 new)")
        compare(source, mirror)

        before = (IngestedEvent.objects.filter(store=mirror).count(), Activity.objects.filter(store=mirror).count())
        updated = list(
            AbandonedCheckout.objects.filter(store=mirror).order_by("id").values_list("updated_at", flat=True)
        )
        pull(connection, "rerun")
        after = (IngestedEvent.objects.filter(store=mirror).count(), Activity.objects.filter(store=mirror).count())
        again = list(AbandonedCheckout.objects.filter(store=mirror).order_by("id").values_list("updated_at", flat=True))
        assert before == after and updated == again, "the rerun wrote something"
        print("  rerun wrote nothing")
    finally:
        stack.close()
        IngestedEvent.objects.filter(store__in=[source, mirror]).delete()
        source.delete()
        mirror.delete()


if __name__ == "__main__":
    main()
