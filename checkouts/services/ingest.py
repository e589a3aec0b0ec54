"""Applying storefront checkout events a batch at a time: idempotent per eventId, safe in any arrival order.

A batch costs the same few statements whatever its size (`ingest_writes`): claim its event
ids, read back the replays, lock the checkouts it names, upsert them, record the outcomes.
The events are applied to the locked rows in Python, one after another in batch order, so
each gets the outcome it would have had alone; the upsert repeats the rule in SQL (a newer
snapshot wins, a completed checkout never reopens), so no write can break it.
"""

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import IntegrityError, models, transaction
from django.db.models.base import ModelState
from django.utils import timezone

from ..ingest_serializers import checkout_event_validate
from ..ingest_snapshot import applied_discounts_from_wix, snapshot_from_wix
from ..models import Checkout, Store
from ..search_text import search_text_for
from ..wix import conversion_rate
from .ingest_writes import (
    BatchRaced,
    checkouts_lock,
    checkouts_upsert,
    events_claim,
    events_seen,
    outcomes_record,
)
from .lifecycle import abandoned_checkouts_recover_for_orders, abandoned_checkouts_refresh

logger = logging.getLogger(__name__)

# A checkout row created by a completion or update we have not seen a snapshot for yet:
# any real snapshot is newer than this.
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)
# A batch redone because another changed what it had read (BatchRaced): the next attempt finds
# the rows as they now are, and locks them.
MAX_ATTEMPTS = 5
UPDATED = "checkout.updated"


class IngestOutcome(models.TextChoices):
    APPLIED = "APPLIED", "Applied"  # the snapshot is now the checkout's current state
    STALE = "STALE", "Stale"  # an older snapshot than the one we have: kept out
    ALREADY_COMPLETED = "ALREADY_COMPLETED", "Already completed"  # completed, and never reopens
    COMPLETED = "COMPLETED", "Completed"  # the checkout is now completed (and recovered, if abandoned)


# The outcome an event's claim is inserted with: the one it gets unless it is stale or its checkout
# already completed (then corrected before the batch commits, `outcomes_record`).
_PRESUMED = {UPDATED: IngestOutcome.APPLIED.value, "checkout.completed": IngestOutcome.COMPLETED.value}


class ErrorCode:
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    EVENT_ID_REUSED = "EVENT_ID_REUSED"


@dataclass
class IngestResult:
    original_index: int
    event_id: str | None
    success: bool
    outcome: str | None = None
    error_code: str | None = None
    description: str = ""
    violations: list[dict[str, str]] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)


@dataclass
class _Event:
    """A valid event of the batch, waiting for its outcome."""

    index: int
    event_id: str
    digest: str
    data: dict
    raw: dict

    @property
    def external_id(self) -> str:
        return self.data["checkout"]["id"]


# Hashes written by orjson carry this prefix (and 62 of the digest's 64 hex digits, to fit the
# column); those without it were written by json.dumps, before.
_FAST_HASH = "o:"


def body_hash(event: Any) -> str:
    """A digest of the event's body, keys sorted: the same body always gives the same one.

    orjson writes the body about ten times faster than json.dumps, but not byte for byte the
    same (small floats, non-ASCII text), so its digests are marked: a replay of an event
    stored with an older digest is compared by that one (`_same_body`).
    """
    try:
        canonical = orjson.dumps(event, option=orjson.OPT_SORT_KEYS, default=str)
    except TypeError:  # a key that is not a string, an integer past 64 bits: json.dumps decides
        return legacy_body_hash(event)
    return _FAST_HASH + hashlib.sha256(canonical).hexdigest()[: 64 - len(_FAST_HASH)]


def legacy_body_hash(event: Any) -> str:
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _same_body(event: "_Event", digest: str) -> bool:
    if digest == event.digest:
        return True
    # Stored before digests were written by orjson: the old way decides.
    return not digest.startswith(_FAST_HASH) and digest == legacy_body_hash(event.raw)


def checkout_events_ingest(*, store: Store, events: list[Any]) -> list[IngestResult]:
    """Apply a batch of storefront events; every item gets its own result.

    A bad item is reported and skipped; the good ones still land. Replaying an eventId with
    the same body answers the first outcome again without re-applying it; the same eventId
    with a different body is refused (EVENT_ID_REUSED, HTTP 422).
    """
    results: list[IngestResult | None] = [None] * len(events)
    valid: list[_Event] = []
    for index, raw in enumerate(events):
        checked = _validated(index, raw)
        if isinstance(checked, IngestResult):
            results[index] = checked
        else:
            valid.append(checked)
    if valid:
        _apply_isolated(store=store, events=valid, results=results)
    return results  # type: ignore[return-value]  # every slot is filled


def _validated(index: int, raw: Any) -> "IngestResult | _Event":
    if not isinstance(raw, dict):
        return IngestResult(
            index,
            None,
            False,
            error_code=ErrorCode.INVALID_ARGUMENT,
            description="Each event must be a JSON object.",
            violations=[{"field": f"events[{index}]", "description": "Expected an object.", "violatedRule": "type"}],
        )
    event_id = raw.get("eventId")
    event_id = event_id if isinstance(event_id, str) else None
    data, violations = checkout_event_validate(raw)
    if data is None:
        return IngestResult(
            index,
            event_id,
            False,
            error_code=ErrorCode.INVALID_ARGUMENT,
            description="; ".join(f"{v['field']}: {v['description']}" for v in violations),
            violations=violations,
        )
    return _Event(index, data["eventId"], body_hash(raw), data, raw)


def _apply_isolated(*, store: Store, events: list[_Event], results: list) -> None:
    """Apply the events in one transaction; if the database refuses one, each goes on its own."""
    try:
        _apply_batch(store=store, events=events, results=results)
    except IntegrityError:
        if len(events) > 1:
            # A bad value slipped past validation: find it, and let the rest of the batch land.
            for event in events:
                _apply_isolated(store=store, events=[event], results=results)
            return
        [event] = events
        logger.exception("Checkout event %s could not be stored", event.event_id)
        results[event.index] = IngestResult(
            event.index,
            event.event_id,
            False,
            error_code=ErrorCode.INVALID_ARGUMENT,
            description="The event could not be stored.",
        )


def _apply_batch(*, store: Store, events: list[_Event], results: list) -> None:
    for _ in range(MAX_ATTEMPTS - 1):
        try:
            with transaction.atomic():
                return _apply(store=store, events=events, results=results)
        except BatchRaced:
            continue
    with transaction.atomic():
        _apply(store=store, events=events, results=results)


def _apply(*, store: Store, events: list[_Event], results: list) -> None:
    firsts: dict[str, _Event] = {}
    for event in events:
        firsts.setdefault(event.event_id, event)
    # A concurrent batch claiming the same id waits on the unique index until this one
    # commits, then finds it taken: each event is applied once.
    presumed = {event.event_id: _PRESUMED[event.data["type"]] for event in firsts.values()}
    claimed = events_claim(
        store=store, events=[(event.event_id, event.digest, presumed[event.event_id]) for event in firsts.values()]
    )
    seen = events_seen(store=store, event_ids=[event_id for event_id in firsts if event_id not in claimed])
    fresh = [event for event in firsts.values() if event.event_id in claimed]
    applied = _apply_fresh(store=store, events=fresh) if fresh else {}
    for event in events:
        first = firsts[event.event_id]
        if first is event and event.event_id in claimed:
            outcome, recovered = applied[event.event_id]
            results[event.index] = IngestResult(event.index, event.event_id, True, outcome=outcome, recovered=recovered)
            continue
        digest, outcome = (
            (first.digest, applied[first.event_id][0]) if first.event_id in claimed else seen[first.event_id]
        )
        results[event.index] = _replayed(event, digest=digest, outcome=outcome)
    outcomes_record(
        claimed=claimed, outcomes={event_id: outcome for event_id, (outcome, _) in applied.items()}, presumed=presumed
    )


def _replayed(event: _Event, *, digest: str, outcome: str) -> IngestResult:
    if _same_body(event, digest):
        return IngestResult(event.index, event.event_id, True, outcome=outcome)
    return IngestResult(
        event.index,
        event.event_id,
        False,
        error_code=ErrorCode.EVENT_ID_REUSED,
        description=f"eventId '{event.event_id}' was already used for a different event body.",
        violations=[
            {
                "field": "eventId",
                "description": "This eventId was already used with a different body.",
                "violatedRule": "idempotency",
            }
        ],
    )


def _apply_fresh(*, store: Store, events: list[_Event]) -> dict[str, tuple[str, list[str]]]:
    """Apply first-seen events in batch order to their locked checkouts: {eventId: (outcome, recovered)}."""
    checkouts = checkouts_lock(store=store, external_ids={event.external_id for event in events})
    known = set(checkouts)
    outcomes: dict[str, str] = {}
    refreshed: dict[str, Checkout] = {}
    completed: dict[str, Checkout] = {}
    blank = _NewCheckouts(store)
    for event in events:
        checkout = checkouts.get(event.external_id)
        if checkout is None:
            currency = event.data["checkout"]["currency"] if event.data["type"] == UPDATED else store.currency
            checkout = checkouts[event.external_id] = blank.make(event.external_id, currency)
        if event.data["type"] == UPDATED:
            outcomes[event.event_id] = _apply_update(checkout, event.data, store=store)
            if outcomes[event.event_id] == IngestOutcome.APPLIED:
                refreshed[event.external_id] = checkout
        else:
            outcomes[event.event_id] = _apply_completion(checkout, event.data, store=store)
            if outcomes[event.event_id] == IngestOutcome.COMPLETED:
                completed[event.external_id] = checkout
    changed = {**refreshed, **completed}
    now = timezone.now()
    for checkout in changed.values():
        _derive(checkout, now=now)
    checkouts_upsert(
        checkouts=list(changed.values()), new={external_id for external_id in changed if external_id not in known}
    )
    abandoned_checkouts_refresh(checkouts=[checkout for checkout in refreshed.values() if checkout.abandoned_at])
    recovered = (
        abandoned_checkouts_recover_for_orders(store=store, checkouts=list(completed.values())) if completed else {}
    )
    return {
        event.event_id: (
            outcomes[event.event_id],
            [str(pk) for pk in recovered.get(checkouts[event.external_id].pk, [])]
            if outcomes[event.event_id] == IngestOutcome.COMPLETED
            else [],
        )
        for event in events
    }


class _NewCheckouts:
    """Unsaved checkouts of one store, copied from one built the usual way.

    `Checkout(...)` works out every field's default one by one, a fifth of a batch's
    Python; a copy takes the same values in one go. The mutable defaults are made afresh.
    """

    def __init__(self, store: Store):
        self._values: dict | None = None
        self._store = store

    def make(self, external_id: str, currency: str) -> Checkout:
        if self._values is None:
            blank = Checkout(store=self._store, external_id="", currency="", last_activity_at=_NEVER)
            self._values = {name: value for name, value in vars(blank).items() if name != "_state"}
        checkout = Checkout.__new__(Checkout)
        values = vars(checkout)
        values.update(self._values)
        values["_state"] = state = ModelState()  # adding, no database yet: as Checkout() leaves it
        state.fields_cache = {"store": self._store}
        checkout.external_id, checkout.currency = external_id, currency
        checkout.line_items, checkout.applied_discounts = [], []
        checkout.created_at = timezone.now()
        return checkout


def _apply_update(checkout: Checkout, event: dict, *, store: Store) -> str:
    if checkout.completed_at:
        return IngestOutcome.ALREADY_COMPLETED
    if (event["occurredAt"], event["eventId"]) <= (checkout.last_activity_at, checkout.snapshot_event_id):
        return IngestOutcome.STALE
    # search_text is left to _derive, which includes the order id.
    for name, value in snapshot_from_wix(event["checkout"], language=store.language, search_text=False).items():
        setattr(checkout, name, value)
    checkout.last_activity_at = event["occurredAt"]
    checkout.snapshot_event_id = event["eventId"]
    checkout.abandon_due_at = checkout.next_abandon_due_at(store)
    return IngestOutcome.APPLIED


def _apply_completion(checkout: Checkout, event: dict, *, store: Store) -> str:
    if checkout.completed_at:
        return IngestOutcome.ALREADY_COMPLETED
    checkout.completed_at = event["occurredAt"]
    checkout.order_id = event.get("orderId", "")
    checkout.abandon_due_at = None
    if checkout.last_activity_at == _NEVER:
        checkout.last_activity_at = event["occurredAt"]
    email = (event["checkout"].get("buyerInfo") or {}).get("email")
    if email and not checkout.buyer_email:
        checkout.buyer_email = email
    discounts = event["checkout"].get("appliedDiscounts")
    if discounts is not None:  # the order's discounts, even none, say what it used: the cart's last word did not
        checkout.applied_discounts = applied_discounts_from_wix(
            discounts,
            currency=checkout.currency,
            conversion=checkout.conversion_currency,
            language=store.language,
            rate=conversion_rate(checkout.total, checkout.total_converted),
        )
    return IngestOutcome.COMPLETED


def _derive(checkout: Checkout, *, now: datetime) -> None:
    """What `CheckoutData.save` would derive, for rows written without it."""
    checkout.email_key = checkout.buyer_email.lower()
    checkout.search_text = search_text_for(
        first_name=checkout.first_name,
        last_name=checkout.last_name,
        buyer_email=checkout.buyer_email,
        phone=checkout.phone,
        order_id=checkout.order_id,
    )
    checkout.updated_at = now
