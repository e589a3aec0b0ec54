"""Applying storefront checkout events: idempotent per eventId, safe in any arrival order."""

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Checkout, IngestedEvent, Store
from ..schemas import CheckoutEventSerializer, field_violations, snapshot_from_wix
from .lifecycle import abandoned_checkout_refresh, abandoned_checkouts_recover_for_order

logger = logging.getLogger(__name__)

# A checkout row created by a completion or update we have not seen a snapshot for yet:
# any real snapshot is newer than this.
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


class Outcome:
    APPLIED = "APPLIED"  # the snapshot is now the checkout's current state
    STALE = "STALE"  # an older snapshot than the one we have: kept out
    ALREADY_COMPLETED = "ALREADY_COMPLETED"  # the checkout is completed and never reopens
    COMPLETED = "COMPLETED"  # the checkout is now completed (and recovered, if abandoned)


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

    @property
    def http_status(self) -> int:
        if self.success:
            return 200
        return 422 if self.error_code == ErrorCode.EVENT_ID_REUSED else 400

    def as_wix(self) -> dict[str, Any]:
        """A bulk-result item in Wix's shape: itemMetadata with originalIndex / success / error."""
        item: dict[str, Any] = {"originalIndex": self.original_index, "success": self.success}
        if self.event_id is not None:
            item["id"] = self.event_id
        if self.success:
            item["outcome"] = self.outcome
        else:
            data: dict[str, Any] = {}
            if self.violations:
                data["fieldViolations"] = self.violations
            item["error"] = {"code": self.error_code, "description": self.description, "data": data}
        return item


def body_hash(event: Any) -> str:
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def checkout_events_ingest(*, store: Store, events: list[Any]) -> list[IngestResult]:
    """Apply a batch of storefront events; every item gets its own result and transaction.

    A bad item is reported and skipped; the good ones still land. Replaying an eventId with
    the same body answers the first outcome again without re-applying it; the same eventId
    with a different body is refused (EVENT_ID_REUSED, HTTP 422).
    """
    return [_ingest_one(store=store, index=index, raw=raw) for index, raw in enumerate(events)]


def _ingest_one(*, store: Store, index: int, raw: Any) -> IngestResult:
    event_id = raw.get("eventId") if isinstance(raw, dict) else None
    event_id = event_id if isinstance(event_id, str) else None
    if not isinstance(raw, dict):
        return IngestResult(
            index,
            None,
            False,
            error_code=ErrorCode.INVALID_ARGUMENT,
            description="Each event must be a JSON object.",
            violations=[{"field": f"events[{index}]", "description": "Expected an object.", "violatedRule": "type"}],
        )
    serializer = CheckoutEventSerializer(data=raw)
    if not serializer.is_valid():
        violations = field_violations(serializer.errors)
        return IngestResult(
            index,
            event_id,
            False,
            error_code=ErrorCode.INVALID_ARGUMENT,
            description="; ".join(f"{v['field']}: {v['description']}" for v in violations),
            violations=violations,
        )
    event = serializer.validated_data
    digest = body_hash(raw)
    try:
        with transaction.atomic():
            seen, created = _remember(store=store, event_id=event["eventId"], digest=digest)
            if not created:
                if seen.body_hash != digest:
                    return IngestResult(
                        index,
                        event_id,
                        False,
                        error_code=ErrorCode.EVENT_ID_REUSED,
                        description=f"eventId '{event_id}' was already used for a different event body.",
                        violations=[
                            {
                                "field": "eventId",
                                "description": "This eventId was already used with a different body.",
                                "violatedRule": "idempotency",
                            }
                        ],
                    )
                return IngestResult(index, event_id, True, outcome=seen.outcome)
            if event["type"] == "checkout.updated":
                outcome, recovered = _apply_update(store=store, event=event), []
            else:
                outcome, recovered = _apply_completion(store=store, event=event)
            seen.outcome = outcome
            seen.save(update_fields=["outcome"])
    except IntegrityError:
        # The database refused a write (a bad value slipped past validation): nothing of this
        # event was kept, and the rest of the batch carries on.
        logger.exception("Checkout event %s could not be stored", event_id)
        return IngestResult(
            index, event_id, False, error_code=ErrorCode.INVALID_ARGUMENT, description="The event could not be stored."
        )
    return IngestResult(index, event_id, True, outcome=outcome, recovered=[str(pk) for pk in recovered])


def _remember(*, store: Store, event_id: str, digest: str) -> tuple[IngestedEvent, bool]:
    # A concurrent duplicate blocks on the unique index until the first commits, then sees it.
    return IngestedEvent.objects.get_or_create(
        store=store, event_id=event_id, defaults={"body_hash": digest, "outcome": "PENDING"}
    )


def _locked_checkout(*, store: Store, external_id: str, currency: str) -> Checkout:
    """The checkout row, locked; created first if this is the first we hear of it."""
    Checkout.objects.bulk_create(
        [Checkout(store=store, external_id=external_id, currency=currency, last_activity_at=_NEVER)],
        ignore_conflicts=True,
    )
    return Checkout.objects.select_for_update().get(store=store, external_id=external_id)


def _apply_update(*, store: Store, event: dict) -> str:
    snapshot = event["checkout"]
    checkout = _locked_checkout(store=store, external_id=snapshot["id"], currency=snapshot["currency"])
    if checkout.completed_at:
        return Outcome.ALREADY_COMPLETED
    if (event["occurredAt"], event["eventId"]) <= (checkout.last_activity_at, checkout.snapshot_event_id):
        return Outcome.STALE
    for name, value in snapshot_from_wix(snapshot, language=store.language).items():
        setattr(checkout, name, value)
    checkout.last_activity_at = event["occurredAt"]
    checkout.snapshot_event_id = event["eventId"]
    checkout.abandon_due_at = checkout.next_abandon_due_at(store)
    checkout.save()
    if checkout.abandoned_at:
        abandoned_checkout_refresh(checkout=checkout)
    return Outcome.APPLIED


def _apply_completion(*, store: Store, event: dict) -> tuple[str, list]:
    ref = event["checkout"]
    checkout = _locked_checkout(store=store, external_id=ref["id"], currency=store.currency)
    if checkout.completed_at:
        return Outcome.ALREADY_COMPLETED, []
    checkout.completed_at = event["occurredAt"]
    checkout.order_id = event.get("orderId", "")
    checkout.abandon_due_at = None
    if checkout.last_activity_at == _NEVER:
        checkout.last_activity_at = event["occurredAt"]
    email = (ref.get("buyerInfo") or {}).get("email")
    if email and not checkout.buyer_email:
        checkout.buyer_email = email
    checkout.updated_at = timezone.now()
    checkout.save()
    recovered = abandoned_checkouts_recover_for_order(store=store, checkout=checkout)
    return Outcome.COMPLETED, recovered
