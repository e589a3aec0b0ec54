"""Realistic demo and scale data: buyers, products, currencies, 90 days of history.

Rows are generated as plain column dicts and written with COPY on PostgreSQL (a million
abandoned checkouts load in a couple of minutes) or bulk inserts elsewhere.
"""

import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice

from django.conf import settings
from django.db import connection, transaction

from checkouts.inserts import copy_rows
from checkouts.models import AbandonedCheckout, Activity, Checkout, Store
from checkouts.search_text import search_text_for
from checkouts.wire import as_stored, wire_build
from checkouts.wix import multi_currency_price

from .automations import EMAILS_IN_FULL_UP_TO, demo_history_record

STORES = [
    {"name": "Northwind Outfitters", "currency": "USD", "language": "en", "time_zone": "America/New_York"},
    {"name": "Maison Lumière", "currency": "EUR", "language": "fr", "time_zone": "Europe/Paris"},
    {"name": "Kyoto Tea House", "currency": "JPY", "language": "ja", "time_zone": "Asia/Tokyo"},
    {"name": "Thames & Co.", "currency": "GBP", "language": "en", "time_zone": "Europe/London"},
    {"name": "Bergmann Werkstatt", "currency": "EUR", "language": "de", "time_zone": "Europe/Berlin"},
]

# (slug, name, price in USD)
PRODUCTS = [
    ("trail-backpack", "Trail Backpack", Decimal("129.00")),
    ("rain-jacket", "Rain Jacket", Decimal("189.00")),
    ("wool-beanie", "Wool Beanie", Decimal("29.00")),
    ("hiking-boots", "Hiking Boots", Decimal("159.00")),
    ("camp-mug", "Enamel Camp Mug", Decimal("18.00")),
    ("headlamp", "Headlamp", Decimal("45.00")),
    ("water-bottle", "Insulated Bottle", Decimal("35.00")),
    ("sunglasses", "Sunglasses", Decimal("89.00")),
    ("linen-shirt", "Linen Shirt", Decimal("75.00")),
    ("silk-scarf", "Silk Scarf", Decimal("95.00")),
    ("leather-wallet", "Leather Wallet", Decimal("65.00")),
    ("scented-candle", "Scented Candle", Decimal("32.00")),
    ("green-tea", "Sencha Green Tea", Decimal("24.00")),
    ("ceramic-teapot", "Ceramic Teapot", Decimal("68.00")),
    ("notebook", "Dot-grid Notebook", Decimal("16.00")),
    ("headphones", "Wireless Headphones", Decimal("249.00")),
]
SIZES = ["XS", "S", "M", "L", "XL"]
COLORS = [("Forest", "#2f6f4f"), ("Navy", "#1f4e79"), ("Rust", "#8b3a3a"), ("Sand", "#c2b280")]
RATES = {"USD": Decimal(1), "EUR": Decimal("0.92"), "GBP": Decimal("0.79"), "JPY": Decimal(150), "CAD": Decimal("1.36")}
STORES_APP_ID = "215238eb-22a5-4c36-9e7b-e7c08025e04e"

FIRST_NAMES = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Amelia",
    "Oliver",
    "Sophia",
    "Elijah",
    "Mia",
    "Lucas",
    "Chloé",
    "Louis",
    "Léa",
    "Hugo",
    "Yuki",
    "Haruto",
    "Sakura",
    "Ren",
    "Hannah",
    "Felix",
    "Lena",
    "Jonas",
    "Priya",
    "Arjun",
    "Sofia",
    "Mateo",
    "Zoe",
    "Omar",
    "Aisha",
    "Mei",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Garcia",
    "Miller",
    "Martin",
    "Bernard",
    "Dubois",
    "Tanaka",
    "Suzuki",
    "Sato",
    "Müller",
    "Schmidt",
    "Fischer",
    "Patel",
    "Khan",
    "Rossi",
    "Nguyen",
    "Kim",
    "Silva",
    "Jones",
    "Taylor",
    "Moreau",
    "Weber",
    "Lopez",
    "Clark",
    "Hall",
]
DOMAINS = ["example.com", "mail.example", "inbox.example.org", "post.example.net"]
LANGUAGES = {"en": ["en"], "fr": ["fr", "en"], "ja": ["ja", "en"], "de": ["de", "en"]}

DAYS_OF_HISTORY = 90
# In the history, the store's automation emailed the buyer an hour after abandonment and held
# out a tenth of its checkouts; the emailed ones came back about twice as often (about 15%
# overall, the rate peers report), so the holdout report has a lift to show.
EMAIL_AFTER = timedelta(hours=1)
HOLDOUT_PERCENT = 10
RECOVERED_SHARE = {False: 0.16, True: 0.08}  # by held out
# Rows per COPY / bulk insert round: large enough to amortise, small enough for steady memory.
WRITE_BATCH = 5000


@dataclass
class Generated:
    checkouts: int = 0
    abandoned: int = 0
    activities: int = 0


def _product_lines(store: Store) -> list[dict]:
    """Every product as a ready line-item template for this store's currency."""
    rate = RATES.get(store.currency, Decimal(1))
    digits = 0 if store.currency == "JPY" else 2
    templates = []
    for slug, name, usd in PRODUCTS:
        price = (usd * rate).quantize(Decimal(1).scaleb(-digits))
        templates.append(
            {
                "slug": slug,
                "name": name,
                "price": price,
                "image": f"{settings.COMEBACK_PUBLIC_URL}/static/img/products/{slug}.svg",
            }
        )
    return templates


def _line_item(template: dict, quantity: int, store: Store, rnd: random.Random) -> tuple[dict, Decimal]:
    unit = template["price"]
    amount = unit * quantity
    color, code = rnd.choice(COLORS)
    item = {
        "id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
        "quantity": quantity,
        "catalogReference": {"catalogItemId": template["slug"], "appId": STORES_APP_ID},
        "productName": {"original": template["name"]},
        "price": multi_currency_price(amount, None, store.currency, "", store.language),
        "priceBeforeDiscounts": multi_currency_price(amount, None, store.currency, "", store.language),
        "descriptionLines": [
            {"name": {"original": "Size"}, "plainText": {"original": rnd.choice(SIZES)}},
            {"name": {"original": "Color"}, "colorInfo": {"original": color, "code": code}},
        ],
        "image": {
            "id": template["slug"],
            "url": template["image"],
            "height": 240,
            "width": 240,
            "altText": template["name"],
        },
        "physicalProperties": {"sku": template["slug"].upper()[:40], "shippable": True},
    }
    return item, amount


def generate(
    store: Store,
    *,
    count: int,
    rnd: random.Random,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    automation_history: bool = False,
) -> Generated:
    """Write `count` abandoned checkouts (with their checkouts and activities) for `store`.

    With `automation_history`, the automation's records of that history (its enrollments, steps,
    unsubscribes and newest emails) are written too, so its pages agree with the timelines.
    """
    templates = _product_lines(store)
    result = Generated()
    rows = _rows(store, count=count, rnd=rnd, now=now, templates=templates)
    # The next chunk is made in a second thread while the database writes this one: making rows
    # is Python, writing them is mostly the database's work, so the two overlap. One thread at a
    # time draws from `rnd`, in order, so a seed gives the same data as ever.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed") as ahead:
        upcoming = ahead.submit(lambda: list(islice(rows, WRITE_BATCH)))
        while chunk := upcoming.result():
            upcoming = ahead.submit(lambda: list(islice(rows, WRITE_BATCH)))
            _write_chunk(
                store,
                chunk,
                automation_history=automation_history,
                every_email=count <= EMAILS_IN_FULL_UP_TO,
                result=result,
            )
            if progress:
                progress(len(chunk))
    return result


def _write_chunk(
    store: Store, chunk: list[tuple], *, automation_history: bool, every_email: bool, result: Generated
) -> None:
    checkouts = [c for c, _, _, _ in chunk]
    abandoned = [a for _, a, _, _ in chunk]
    activities = [act for _, _, acts, _ in chunk for act in acts]
    with transaction.atomic():
        for checkout_id, row in zip(_insert_checkouts(checkouts), abandoned, strict=True):
            row["checkout_id"] = checkout_id
        _write(AbandonedCheckout, abandoned)
        _write(Activity, activities)
        if automation_history:
            demo_history_record(
                store=store,
                abandoned=abandoned,
                activities=activities,
                held_out={a["id"] for _, a, _, held_out in chunk if held_out},
                email_after=EMAIL_AFTER,
                every_email=every_email,
            )
    result.checkouts += len(checkouts)
    result.abandoned += len(abandoned)
    result.activities += len(activities)


def _rows(store: Store, *, count: int, rnd: random.Random, now: datetime, templates: list[dict]) -> Iterator:
    languages = LANGUAGES.get(store.language, [store.language])
    for index in range(count):
        created = now - timedelta(seconds=rnd.uniform(0, DAYS_OF_HISTORY * 86400))
        first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
        has_email = rnd.random() < 0.93
        email = f"{first}.{last}{index % 997}@{rnd.choice(DOMAINS)}".lower() if has_email else ""
        is_member = not has_email or rnd.random() < 0.3
        lines, subtotal = [], Decimal(0)
        for template in rnd.sample(templates, k=rnd.choice((1, 1, 1, 2, 2, 3, 4))):
            item, amount = _line_item(template, rnd.choice((1, 1, 1, 2, 3)), store, rnd)
            lines.append(item)
            subtotal += amount
        total = subtotal
        held_out = has_email and rnd.random() * 100 < HOLDOUT_PERCENT  # only buyers it can email are taken on
        recovered = rnd.random() < RECOVERED_SHARE[held_out]
        recovered_at = created + timedelta(minutes=rnd.uniform(30, 4 * 1440)) if recovered else None
        if recovered_at and recovered_at > now:
            recovered, recovered_at = False, None
        external_id = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        ac_id = uuid.UUID(int=rnd.getrandbits(128), version=4)
        last_seen = created - store.abandon_after
        snapshot = {
            "cart_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            "buyer_language": rnd.choice(languages),
            "contact_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            "visitor_id": "" if is_member else str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            "member_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)) if is_member else "",
            "user_id": "",
            "buyer_email": email,
            "email_key": email,
            "first_name": first,
            "last_name": last,
            "phone": f"+1555{rnd.randrange(10**6, 10**7)}" if rnd.random() < 0.6 else "",
            "company": "",
            "vat_id": None,
            "currency": store.currency,
            "conversion_currency": "",
            "subtotal": subtotal,
            "subtotal_converted": None,
            "total": total,
            "total_converted": None,
            "line_items": lines,
            "applied_discounts": [],
            "storefront_checkout_url": f"{store.storefront_url or 'https://shop.example.com'}/checkout/{external_id}",
        }
        snapshot["search_text"] = search_text_for(
            first_name=first,
            last_name=last,
            buyer_email=email,
            phone=snapshot["phone"],
            order_id=f"order-{index}" if recovered else "",
        )
        checkout = {
            "store_id": store.pk,
            "external_id": external_id,
            "last_activity_at": last_seen,
            "snapshot_event_id": f"seed-{external_id}",
            "abandon_due_at": None,
            "abandoned_at": created,
            "completed_at": recovered_at,
            "order_id": f"order-{index}" if recovered else "",
            "created_at": last_seen - timedelta(minutes=rnd.uniform(1, 20)),
            "updated_at": recovered_at or created,
            **snapshot,
        }
        activities = list(
            _activities(
                store, ac_id, created, now, has_email=has_email, held_out=held_out, recovered_at=recovered_at, rnd=rnd
            )
        )
        newest = activities[-1] if activities else None
        abandoned = {
            "id": ac_id,
            "store_id": store.pk,
            "checkout_id": None,  # set once the checkout row has its id
            "checkout_external_id": external_id,
            "status": AbandonedCheckout.Status.RECOVERED if recovered else AbandonedCheckout.Status.ABANDONED,
            "created_at": created,
            "updated_at": max([created, recovered_at or created, *(a["created_at"] for a in activities)]),
            "checkout_recovered_at": recovered_at,
            "recovered_order_id": f"order-{index}" if recovered else "",
            "link_clicks": rnd.choice((0, 0, 0, 1, 2)) + (1 if recovered else 0),
            "last_clicked_at": None,
            "last_activity_type": newest["type"] if newest else "",
            "last_activity_at": newest["created_at"] if newest else None,
            "event_sequence": 0,
            **snapshot,
        }
        abandoned["wire"], abandoned["wire_stamp"] = _wire(store, abandoned, activities)
        yield checkout, abandoned, activities, held_out


def _wire(store: Store, abandoned: dict, activities: list[dict]) -> tuple[str, str]:
    """The row's ready Wix JSON, built before it is written (the COPY path has no other chance)."""
    ac = AbandonedCheckout(**abandoned)
    ac.store = store
    for name in ("line_items", "applied_discounts", "vat_id"):
        setattr(ac, name, as_stored(getattr(ac, name)))
    # Newest first, as the API's prefetch reads them: by date, then by insertion order (their ids).
    latest = sorted(enumerate(activities), key=lambda item: (item[1]["created_at"], item[0]), reverse=True)
    return wire_build(ac, [Activity(type=a["type"], created_at=a["created_at"]) for _, a in latest], store=store)


def _activities(store, ac_id, created, now, *, has_email, held_out, recovered_at, rnd) -> Iterable[dict]:
    """What the store's automation logged: SCHEDULED, then at the email's hour one outcome, as
    the dispatcher records it; a recovery before that hour cancelled the email instead."""

    def activity(kind: str, at: datetime, reason: str = "") -> dict:
        return {
            "store_id": store.pk,
            "abandoned_checkout_id": ac_id,
            "type": kind,
            "reason": reason,
            "detail": {},
            "created_at": at,
        }

    if not has_email:
        return  # the automation takes on only buyers it can email
    yield activity(Activity.Type.SCHEDULED, created + timedelta(seconds=1))
    email_at = created + EMAIL_AFTER
    if recovered_at and recovered_at < email_at:
        yield activity(Activity.Type.AUTOMATION_SKIPPED, recovered_at, "RECOVERED")
    elif email_at > now:
        return  # still to come: the running dispatcher sends it
    elif held_out:
        yield activity(Activity.Type.AUTOMATION_SKIPPED, email_at, "HOLDOUT")
    elif rnd.random() < 0.04:
        yield activity(Activity.Type.EMAIL_NOT_SENT, email_at, "UNSUBSCRIBED")
    else:
        yield activity(Activity.Type.EMAIL_SENT, email_at)


def _write(model, rows: list[dict]) -> None:
    if connection.vendor == "postgresql":
        copy_rows(model, rows)
    else:
        model.objects.bulk_create([model(**row) for row in rows], batch_size=500)


def _insert_checkouts(rows: list[dict]) -> list[int]:
    """Insert checkout rows and return their ids, so abandoned checkouts point at them directly."""
    if connection.vendor == "postgresql":
        # Take the ids from the sequence up front: COPY returns nothing.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Checkout._meta.db_table, len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
        copy_rows(Checkout, [{"id": pk, **row} for pk, row in zip(ids, rows, strict=True)])
        return ids
    created = Checkout.objects.bulk_create([Checkout(**row) for row in rows], batch_size=500)
    return [checkout.pk for checkout in created]


def live_checkouts(store: Store, *, count: int, rnd: random.Random, now: datetime) -> int:
    """Open checkouts idle for 0–90 minutes, so the sweep has work to do in a fresh demo."""
    templates = _product_lines(store)
    rows = []
    for index in range(count):
        first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
        email = f"{first}.{last}.live{index}@example.com".lower()
        item, amount = _line_item(rnd.choice(templates), 1, store, rnd)
        seen = now - timedelta(minutes=rnd.uniform(0, 90))
        external_id = str(uuid.uuid4())
        rows.append(
            Checkout(
                store=store,
                external_id=external_id,
                last_activity_at=seen,
                snapshot_event_id=f"seed-{external_id}",
                abandon_due_at=seen + store.abandon_after,
                buyer_email=email,
                email_key=email,
                first_name=first,
                last_name=last,
                search_text=search_text_for(first_name=first, last_name=last, buyer_email=email),
                currency=store.currency,
                subtotal=amount,
                total=amount,
                line_items=[item],
                storefront_checkout_url=f"{store.storefront_url or 'https://shop.example.com'}/checkout/{external_id}",
            )
        )
    Checkout.objects.bulk_create(rows)
    return len(rows)


__all__ = ["STORES", "generate", "live_checkouts"]
