"""The contact gate every buyer-facing send goes through: frequency cap, quiet hours, consent,
opt-outs and "newest checkout only". Loaded once per batch (or per manual send) in a constant
number of queries, after the checkouts are locked."""

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from django.db import connection
from django.db.models import Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Store
from checkouts.models.privacy import email_digests

from ..models import ContactLedger, ContactPolicy, TextOptOut, buyer_key, phone_digests

# A store without a policy row has the model's default window.
_DEFAULT_WINDOW_HOURS = ContactPolicy._meta.get_field("window_hours").default


def consented(ac: AbandonedCheckout, channel: str) -> bool:
    """Did the storefront say the buyer accepted marketing on `channel` ("email" or "sms")?"""
    return (ac.marketing_consent or {}).get(channel) is True


@lru_cache(maxsize=512)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    # Cached, misses included: a storefront sending a bad name would otherwise cost a file
    # lookup per step. The name comes from the ingest, so it is checked here, not trusted.
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def buyer_zone(ac: AbandonedCheckout) -> zoneinfo.ZoneInfo:
    """The buyer's time zone when the storefront sent a valid one (`buyerTimeZone`), else the store's."""
    return _zone(ac.buyer_time_zone) or ac.store.zone


def _identity(ac: AbandonedCheckout) -> tuple:
    # The same buyer for "newest checkout only": by address, or by phone when there is none.
    return (ac.store_id, ac.email_key, "" if ac.email_key else ac.phone)


@dataclass
class ContactGate:
    policies: dict[object, ContactPolicy]
    keys: dict[object, str]  # checkout id -> buyer key
    ledger: dict[tuple, ContactLedger]  # (store id, buyer key) -> its locked row
    newest: dict[tuple, datetime] = field(default_factory=dict)
    opted_out: set[tuple] = field(default_factory=set)  # (store id, phone)
    contacted: set[int] = field(default_factory=set)  # ledger row ids to stamp

    def policy(self, store: Store) -> ContactPolicy:
        return self.policies.get(store.pk) or ContactPolicy(store=store)

    def superseded(self, ac: AbandonedCheckout) -> bool:
        """The buyer abandoned a later checkout in the store: its sequence is the one that runs."""
        newest = self.newest.get(_identity(ac))
        return newest is not None and newest > ac.created_at

    def text_opted_out(self, ac: AbandonedCheckout) -> bool:
        return (ac.store_id, ac.phone) in self.opted_out

    def held_until(self, ac: AbandonedCheckout, now: datetime) -> datetime | None:
        """The next morning, if `now` is in the buyer's quiet hours: in their time zone when the
        checkout carries one, else the store's (no connector reports one from the server side)."""
        policy = self.policy(ac.store)
        if not policy.quiet_hours or policy.day_starts >= policy.day_ends:
            return None
        zone = buyer_zone(ac)
        local = now.astimezone(zone)
        if policy.day_starts <= local.time() < policy.day_ends:
            return None
        day = local.date() if local.time() < policy.day_starts else local.date() + timedelta(days=1)
        return datetime.combine(day, policy.day_starts, tzinfo=zone)

    def last_contact(self, ac: AbandonedCheckout, now: datetime) -> datetime | None:
        """When the buyer last got a recovery message, if that is within the store's window."""
        row = self.ledger.get((ac.store_id, self.keys.get(ac.pk, "")))
        hours = self.policy(ac.store).window_hours
        if row is None or row.last_contacted_at is None or not hours:
            return None
        return row.last_contacted_at if row.last_contacted_at > now - timedelta(hours=hours) else None

    def mark_contacted(self, ac: AbandonedCheckout, now: datetime) -> None:
        row = self.ledger.get((ac.store_id, self.keys.get(ac.pk, "")))
        if row is not None:
            row.last_contacted_at = now
            self.contacted.add(row.pk)

    def save(self, now: datetime) -> None:
        if self.contacted:
            ContactLedger.objects.filter(pk__in=self.contacted).update(last_contacted_at=now)
            self.contacted = set()


def contact_gate_load(checkouts: dict) -> ContactGate:
    """Read the rules and lock the ledger rows of `checkouts` (already locked by the caller)."""
    stores = {ac.store_id for ac in checkouts.values()}
    policies = {p.store_id: p for p in ContactPolicy.objects.filter(store_id__in=stores)} if stores else {}
    keys = {pk: buyer_key(email=ac.email_key, phone=ac.phone) for pk, ac in checkouts.items()}
    pairs = sorted(
        {(checkouts[pk].store_id, key) for pk, key in keys.items() if key}, key=lambda pair: (str(pair[0]), pair[1])
    )
    gate = ContactGate(policies=policies, keys=keys, ledger=_ledger_locked(pairs))
    gate.newest = _newest(checkouts.values(), stores)
    gate.opted_out = _opted_out(checkouts.values(), stores)
    return gate


def _ledger_locked(pairs: list[tuple]) -> dict[tuple, ContactLedger]:
    """The ledger rows of (store id, buyer key) pairs, made where missing, locked, in one statement.

    `ON CONFLICT DO UPDATE` locks each row it meets as `FOR UPDATE` would (waiting for a sender
    holding it) and, unlike `DO NOTHING`, returns it; its SET writes back the value the row has.
    A row deleted meanwhile (an erasure, the prune) is inserted again. Rows are taken in one
    order everywhere, so two batches cannot deadlock on them.
    """
    if not pairs:
        return {}
    table = connection.ops.quote_name(ContactLedger._meta.db_table)
    prep = ContactLedger._meta.get_field("store").get_db_prep_value
    rows = ContactLedger.objects.raw(
        f"INSERT INTO {table} (store_id, buyer_key) VALUES {', '.join(['(%s, %s)'] * len(pairs))} "  # noqa: S608  # nosec B608
        f"ON CONFLICT (store_id, buyer_key) DO UPDATE SET last_contacted_at = {table}.last_contacted_at "
        "RETURNING id, store_id, buyer_key, last_contacted_at",
        [value for store_id, key in pairs for value in (prep(store_id, connection), key)],
    )
    return {(row.store_id, row.buyer_key): row for row in rows}


def _newest(checkouts, stores: set) -> dict[tuple, datetime]:
    emails = {ac.email_key for ac in checkouts if ac.email_key}
    phones = {ac.phone for ac in checkouts if not ac.email_key and ac.phone}
    if not emails and not phones:
        return {}
    rows = (
        AbandonedCheckout.objects.filter(store_id__in=stores)
        .filter(Q(email_key__in=emails) | Q(email_key="", phone__in=phones))
        .values("store_id", "email_key", "phone")
        .annotate(newest=Max("created_at"))
    )
    result: dict[tuple, datetime] = {}
    for row in rows:
        identity = (row["store_id"], row["email_key"], "" if row["email_key"] else row["phone"])
        if identity not in result or row["newest"] > result[identity]:
            result[identity] = row["newest"]
    return result


def _opted_out(checkouts, stores: set) -> set[tuple]:
    phones = {ac.phone for ac in checkouts if ac.phone}
    if not phones:
        return set()
    by_hash = {digest: phone for phone in phones for digest in phone_digests(phone)}
    rows = TextOptOut.objects.filter(store_id__in=stores, phone_hash__in=list(by_hash))
    return {(store_id, by_hash[digest]) for store_id, digest in rows.values_list("store_id", "phone_hash")}


def text_opt_out_record(*, store: Store, phone: str, source: str = TextOptOut.Source.STOP) -> TextOptOut:
    """End texting `phone` for `store` (a STOP reply, or staff). Idempotent: a repeat keeps the first."""
    opt_out, _ = TextOptOut.objects.get_or_create(
        store=store, phone_hash=phone_digests(phone)[0], defaults={"source": source}
    )
    return opt_out


def contact_policy_save(*, store: Store, **rules) -> ContactPolicy:
    """Store the store's contact rules (window, quiet hours, email consent); they apply to the next send."""
    policy, _ = ContactPolicy.objects.update_or_create(store=store, defaults=rules)
    return policy


def _in_window(store_id, now: datetime) -> Q:
    """Ledger rows of `store_id` whose last contact still counts for its frequency cap."""
    policy = ContactPolicy.objects.filter(store_id=store_id).first()
    hours = policy.window_hours if policy is not None else _DEFAULT_WINDOW_HOURS
    if not hours:
        return Q(pk__in=[])
    return Q(last_contacted_at__gt=now - timedelta(hours=hours))


def contact_ledger_erase(*, store_id, email: str = "", phone: str = "", now: datetime | None = None) -> int:
    """Forget when a buyer (by address, and by phone) was last contacted by a store, as an
    erasure asks. A row whose contact is still inside the store's window stays until it is
    not (`contact_ledger_prune`): it holds only a keyed hash and a time, and dropping it would
    let the buyer be written to again at once. Returns the rows deleted."""
    keys = [*email_digests(email)] if email.strip() else []
    if phone and buyer_key(email="", phone=phone):
        keys.extend(phone_digests(phone))
    if not keys:
        return 0
    now = now or timezone.now()
    rows = ContactLedger.objects.filter(store_id=store_id, buyer_key__in=keys).exclude(_in_window(store_id, now))
    deleted, _ = rows.delete()
    return deleted


def contact_ledger_prune(*, now: datetime | None = None) -> int:
    """Delete the ledger rows no frequency cap needs any more: never stamped, or last contact
    older than their store's window. Keeps the ledger to the buyers contacted lately."""
    now = now or timezone.now()
    window = Coalesce(
        Subquery(ContactPolicy.objects.filter(store_id=OuterRef("store_id")).values("window_hours")[:1]),
        Value(_DEFAULT_WINDOW_HOURS),
    )
    deleted = 0
    # Per window length (a handful of values across the stores), so the cut-off is a plain
    # comparison the database can do on each row.
    hours_in_use = set(ContactLedger.objects.annotate(window=window).values_list("window", flat=True).distinct())
    for hours in hours_in_use:
        stale = ContactLedger.objects.annotate(window=window).filter(window=hours)
        if hours:
            stale = stale.filter(
                Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lte=now - timedelta(hours=hours))
            )
        count, _ = ContactLedger.objects.filter(pk__in=list(stale.values_list("pk", flat=True)[:50_000])).delete()
        deleted += count
    return deleted
