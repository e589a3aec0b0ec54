"""A small store whose rows exercise every corner of the query language.

Ties on createdDate (the id breaks them), dates stored with sub-millisecond precision,
unset buyer ids and emails, mixed-case emails, both statuses, activities and coupons.
"""

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from checkouts.models import AbandonedCheckout, Activity
from checkouts.selectors import abandoned_checkouts_with_activities
from checkouts.wix import abandoned_checkout_to_wix
from tests.factories import AbandonedCheckoutFactory, ActivityFactory

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EMAILS = [
    "ada@example.com",
    "Ada.Lovelace@Example.com",
    "ADA@example.com",
    "bob@shop.io",
    "carol@x.org",
    "dave_99@y.net",
    "",
    "erin%50@z.com",
    "zed@example.com",
]
FIRST_NAMES = ["Ada", "ada", "Bob", "", "Carol", "Émile", "Zoë"]
LAST_NAMES = ["Lovelace", "Hopper", "", "Byron", "lovelace"]
SIZE = 36


def coupon(code: str) -> dict:
    amount = {"amount": "5", "convertedAmount": "5", "formattedAmount": "$5.00", "formattedConvertedAmount": "$5.00"}
    return {"coupon": {"id": code.lower(), "code": code, "name": code, "amount": amount}, "discountType": "GLOBAL"}


@dataclass
class Dataset:
    store: object
    items: list[dict]  # the Wix JSON of every row, in creation order

    def by_index(self, index: int) -> dict:
        return self.items[index]


def build(store) -> Dataset:
    rnd = random.Random(2026)
    rows = []
    for index in range(SIZE):
        # Pairs share a group time (ties); some rows carry sub-millisecond or millisecond offsets.
        created = BASE + timedelta(minutes=17 * (index // 2))
        if index % 5 == 0:
            created += timedelta(microseconds=123456)
        if index % 7 == 0:
            created += timedelta(milliseconds=250)
        status = AbandonedCheckout.Status.RECOVERED if index % 3 == 0 else AbandonedCheckout.Status.ABANDONED
        identity = {0: "member_id", 1: "visitor_id", 2: "user_id" if index % 8 == 2 else None, 3: "visitor_id"}
        column = identity[index % 4]
        discounts = []
        if index % 5 == 0:
            discounts.append(coupon("SPRING"))
        if index % 6 == 0:
            discounts.append(coupon("VIP"))
        rows.append(
            AbandonedCheckoutFactory(
                id=uuid.UUID(int=rnd.getrandbits(128), version=4),
                store=store,
                created_at=created,
                updated_at=created + timedelta(hours=index % 4, milliseconds=index),
                status=status,
                checkout_recovered_at=created + timedelta(hours=5) if status == "RECOVERED" else None,
                contact_id=f"c{index:03d}-contact" if index % 3 != 1 else "",
                buyer_email=EMAILS[index % len(EMAILS)],
                first_name=FIRST_NAMES[index % len(FIRST_NAMES)],
                last_name=LAST_NAMES[index % len(LAST_NAMES)],
                applied_discounts=discounts,
                **({column: f"{column[0]}-{index:02d}"} if column else {}),
            )
        )
    for index, row in enumerate(rows):
        if index % 3 == 0:
            ActivityFactory(abandoned_checkout=row, type=Activity.Type.SCHEDULED, created_at=row.created_at)
        if index % 4 == 0:
            ActivityFactory(abandoned_checkout=row, type=Activity.Type.EMAIL_SENT, created_at=row.created_at)
    rendered = {
        row.pk: abandoned_checkout_to_wix(row, store=store)
        for row in abandoned_checkouts_with_activities(AbandonedCheckout.objects.filter(store=store))
    }
    return Dataset(store=store, items=[rendered[row.pk] for row in rows])
