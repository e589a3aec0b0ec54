"""Reads: every queryset a request or a task uses starts here, scoped to one store."""

from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, DecimalField, Exists, OuterRef, Prefetch, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from .extensions import TimelineEntry, timeline_sources
from .models import AbandonedCheckout, Activity, BulkJob, SchedulerHeartbeat, Store, TimelineEvent


def activities_latest(*, abandoned_checkout_id, limit: int = Activity.API_LIMIT) -> list[Activity]:
    """The newest activities of one abandoned checkout, newest first."""
    return list(
        Activity.objects.filter(abandoned_checkout_id=abandoned_checkout_id).order_by("-created_at", "-id")[:limit]
    )


def latest_activities_prefetch() -> Prefetch:
    """Prefetch each row's latest 20 activities in one query (a window function per page).

    Only what the Wix entity shows of an activity (its type and date) is loaded: every
    reader of `latest_activities` renders that entity, and an activity's `detail` JSON is
    the largest part of its row.
    """
    return Prefetch(
        "activities",
        queryset=Activity.objects.only("id", "abandoned_checkout_id", "type", "created_at").order_by(
            "-created_at", "-id"
        )[: Activity.API_LIMIT],
        to_attr="latest_activities",
    )


def abandoned_checkouts_for_store(*, store: Store) -> QuerySet[AbandonedCheckout]:
    """The starting point for every list and detail of a store's abandoned checkouts."""
    return AbandonedCheckout.objects.filter(store=store)


def abandoned_checkout_store_for_member(*, user, abandoned_checkout_id) -> Store | None:
    """The store of a checkout the user may see through another of their memberships, or None
    (no such checkout, or a store they do not belong to: the caller answers 404 either way)."""
    found = (
        AbandonedCheckout.objects.filter(pk=abandoned_checkout_id, store__memberships__user=user)
        .select_related("store")
        .only("store")
        .first()
    )
    return found.store if found else None


# How long the list's currency choices are reused: a currency first seen now shows up within
# this long, and a store's rows are read for them at most this often.
STORE_CURRENCIES_SECONDS = 600


def store_currencies(*, store: Store) -> list[str]:
    """The currencies the store's abandoned checkouts are in (at most 50), plus its own.

    DISTINCT reads every row of the store, which a page must not do: the answer is cached, so
    a list page costs no query for it, whatever the store's size, most of the time."""
    key = f"checkouts:store-currencies:{store.pk}"
    codes = cache.get(key)
    if codes is None:
        rows = AbandonedCheckout.objects.filter(store=store).order_by("currency").values_list("currency", flat=True)
        codes = list(rows.distinct()[:50])
        cache.set(key, codes, STORE_CURRENCIES_SECONDS)
    return sorted({store.currency, *codes})


def abandoned_checkouts_with_activities(queryset: QuerySet[AbandonedCheckout]) -> QuerySet[AbandonedCheckout]:
    return queryset.prefetch_related(latest_activities_prefetch())


def scheduler_heartbeat_latest(*, name: str = SchedulerHeartbeat.BEAT) -> datetime | None:
    """When the scheduler's tick last ran end to end, or None if it never has."""
    return SchedulerHeartbeat.objects.filter(name=name).values_list("beat_at", flat=True).first()


# --- Dashboard reads ------------------------------------------------------------------------

# The list needs these columns and nothing heavier (no discounts, no VAT ids).
LIST_COLUMNS = (
    "id",
    "store_id",
    "status",
    "created_at",
    "updated_at",
    "buyer_email",
    "first_name",
    "last_name",
    "currency",
    "total",
    "line_items",
    "last_activity_type",
    "last_activity_at",
    "checkout_recovered_at",
)
# A checkout's timeline shows at most this many activities (automations write a handful each).
TIMELINE_ACTIVITY_LIMIT = 200
# "Most abandoned products" reads the line items of at most this many checkouts of the
# period (the newest), so a 90-day overview of a huge store stays a bounded read.
PRODUCT_SAMPLE_SIZE = 5_000
TOP_PRODUCTS = 6


def abandoned_checkouts_for_list(*, store: Store) -> QuerySet[AbandonedCheckout]:
    return abandoned_checkouts_for_store(store=store).only(*LIST_COLUMNS)


def activities_for_timeline(*, abandoned_checkout: AbandonedCheckout) -> list[Activity]:
    return list(
        Activity.objects.filter(abandoned_checkout=abandoned_checkout).order_by("-created_at", "-id")[
            :TIMELINE_ACTIVITY_LIMIT
        ]
    )


@dataclass(frozen=True)
class OverviewFigures:
    abandoned_count: int
    abandoned_value: Decimal
    recoverable_value: Decimal
    recovered_count: int
    recovered_value: Decimal
    emails_sent: int
    emails_recovered: int

    @property
    def open_count(self) -> int:
        return self.abandoned_count - self.recovered_count

    @property
    def recovery_rate(self) -> float | None:
        return self.recovered_count / self.abandoned_count if self.abandoned_count else None

    @property
    def email_recovery_rate(self) -> float | None:
        return self.emails_recovered / self.emails_sent if self.emails_sent else None


def overview_figures(*, store: Store, start: datetime, end: datetime) -> OverviewFigures:
    """Headline numbers for the checkouts abandoned in [start, end) and the emails sent then.

    Three aggregates, each over an index range: the period's checkouts are summed from an
    index holding date, status, total and id (no wide row is read); the emails are counted
    from the activity index by store, type and date; "came back after an email" probes the
    activity index only for the period's recovered checkouts, a small share of them.
    """
    zero = Value(Decimal(0), output_field=DecimalField())
    cohort = abandoned_checkouts_for_store(store=store).filter(created_at__gte=start, created_at__lt=end)
    recovered = AbandonedCheckout.objects.recovered_q()
    with _without_jit():
        totals = cohort.aggregate(
            abandoned_count=Count("*"),
            abandoned_value=Coalesce(Sum("total"), zero),
            recoverable_value=Coalesce(Sum("total", filter=AbandonedCheckout.objects.abandoned_q()), zero),
            recovered_count=Count("created_at", filter=recovered),
            recovered_value=Coalesce(Sum("total", filter=recovered), zero),
        )
        emails_sent = Activity.objects.filter(
            store=store, type=Activity.Type.EMAIL_SENT, created_at__gte=start, created_at__lt=end
        ).count()
        # Automations stop at recovery, so a recovered checkout's email came before it.
        emailed = Activity.objects.filter(abandoned_checkout=OuterRef("pk"), type=Activity.Type.EMAIL_SENT)
        emails_recovered = cohort.filter(recovered).filter(Exists(emailed)).count()
    return OverviewFigures(**totals, emails_sent=emails_sent, emails_recovered=emails_recovered)


@contextmanager
def _without_jit():
    """PostgreSQL's JIT spends ~80 ms compiling each of these aggregates, more than they take
    to run from their indexes: switch it off for the enclosed queries only."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield


@dataclass(frozen=True)
class DailyValue:
    day: date
    abandoned: Decimal
    recovered: Decimal
    count: int


def overview_daily(*, store: Store, start: datetime, end: datetime) -> list[DailyValue]:
    """Abandoned and recovered value per day of abandonment (store time), every day present."""
    zone = store.zone
    rows = (
        abandoned_checkouts_for_store(store=store)
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(
            abandoned=Sum("total"),
            recovered=Sum("total", filter=AbandonedCheckout.objects.recovered_q()),
            count=Count("*"),
        )
        .order_by("day")
    )
    with _without_jit():
        by_day = {row["day"]: row for row in rows}
    first, last = timezone.localtime(start, zone).date(), timezone.localtime(end - timedelta(microseconds=1), zone)
    days = []
    day = first
    while day <= last.date():
        row = by_day.get(day, {})
        days.append(
            DailyValue(
                day=day,
                abandoned=row.get("abandoned") or Decimal(0),
                recovered=row.get("recovered") or Decimal(0),
                count=row.get("count") or 0,
            )
        )
        day += timedelta(days=1)
    return days


@dataclass(frozen=True)
class ProductFigure:
    product_id: str
    name: str
    image_url: str
    checkouts: int
    quantity: int


def overview_top_products(*, store: Store, start: datetime, end: datetime) -> list[ProductFigure]:
    """The products in most abandoned checkouts of the period (read from its newest
    PRODUCT_SAMPLE_SIZE checkouts)."""
    window = (
        abandoned_checkouts_for_store(store=store)
        .filter(created_at__gte=start, created_at__lt=end)
        .order_by("-created_at", "-id")[:PRODUCT_SAMPLE_SIZE]
    )
    if connection.vendor == "postgresql":
        return _top_products_postgresql(window)
    return _top_products_portable(window)


def _top_products_postgresql(window: QuerySet) -> list[ProductFigure]:
    # jsonb_array_elements unnests every line item in the database; only the top rows come back.
    inner, params = window.values("line_items").query.sql_with_params()
    sql = f"""
        SELECT COALESCE(item->'catalogReference'->>'catalogItemId', item->'productName'->>'original') AS product,
               MAX(item->'productName'->>'original'),
               MAX(item->'image'->>'url'),
               COUNT(*) AS checkouts,
               SUM(CASE WHEN jsonb_typeof(item->'quantity') = 'number' THEN (item->>'quantity')::bigint ELSE 1 END)
        FROM ({inner}) AS recent
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(recent.line_items) = 'array' THEN recent.line_items ELSE '[]'::jsonb END
        ) AS item
        GROUP BY 1
        ORDER BY checkouts DESC, 5 DESC, 2, 1
        LIMIT %s
    """  # noqa: S608 - the inner query is Django's own, with its parameters passed separately  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, TOP_PRODUCTS])
        rows = cursor.fetchall()
    return [
        ProductFigure(
            product_id=row[0] or "",
            name=row[1] or row[0] or "",
            image_url=row[2] or "",
            checkouts=row[3],
            quantity=row[4] or 0,
        )
        for row in rows
        if row[0]
    ]


def _top_products_portable(window: QuerySet) -> list[ProductFigure]:
    counts: Counter[str] = Counter()
    quantities: Counter[str] = Counter()
    names: dict[str, tuple[str, str]] = {}
    for line_items in window.values_list("line_items", flat=True).iterator(chunk_size=2000):
        for item in line_items if isinstance(line_items, list) else ():
            name = ((item.get("productName") or {}).get("original")) or ""
            product = (item.get("catalogReference") or {}).get("catalogItemId") or name
            if not product:
                continue
            counts[product] += 1
            quantity = item.get("quantity")
            quantities[product] += quantity if isinstance(quantity, int) else 1
            names.setdefault(product, (name or product, (item.get("image") or {}).get("url") or ""))
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], -quantities[pair[0]], names[pair[0]][0], pair[0]))
    ranked = ranked[:TOP_PRODUCTS]
    return [
        ProductFigure(
            product_id=product,
            name=names[product][0],
            image_url=names[product][1],
            checkouts=count,
            quantity=quantities[product],
        )
        for product, count in ranked
    ]


def bulk_jobs_unfinished(*, store: Store, limit: int = 3) -> list[BulkJob]:
    """The store's bulk jobs still in progress, newest first, for the list's progress panel."""
    return list(BulkJob.objects.filter(store=store).exclude(state=BulkJob.State.DONE).order_by("-created_at")[:limit])


_ACTIVITY_STATUS = {
    Activity.Type.EMAIL_SENT: "ok",
    Activity.Type.NOTIFICATION_SENT: "ok",
    Activity.Type.TASK_CREATED: "ok",
    Activity.Type.EMAIL_NOT_SENT: "warning",
    Activity.Type.AUTOMATION_SKIPPED: "warning",
}


def timeline_events_for(*, abandoned_checkout: AbandonedCheckout) -> list[TimelineEvent]:
    return list(
        TimelineEvent.objects.filter(abandoned_checkout=abandoned_checkout).order_by("-created_at", "-id")[
            :TIMELINE_ACTIVITY_LIMIT
        ]
    )


def _activity_title(activity: Activity) -> str:
    """A manual send names the member who sent it; the automations' own sends are plain."""
    title = activity.get_type_display()
    detail = activity.detail if isinstance(activity.detail, dict) else {}
    if activity.type == Activity.Type.EMAIL_SENT and detail.get("manual"):
        return f"{title} by {detail['by']}" if detail.get("by") else f"{title} by hand"
    return title


def _event_entry(event: TimelineEvent) -> TimelineEntry:
    if event.kind == TimelineEvent.Kind.ANONYMISED:
        title = f"Anonymised by {event.actor_label}" if event.actor_label else "Anonymised"
        return TimelineEntry(at=event.created_at, kind="anonymised", title=title, status="warning")
    return TimelineEntry(at=event.created_at, kind="click", title=event.get_kind_display())


def abandoned_checkout_timeline(*, abandoned_checkout: AbandonedCheckout) -> list[TimelineEntry]:
    """Everything that happened to one abandoned checkout, oldest first: its abandonment, its
    activities, link clicks, anonymisation, its recovery and whatever the registered timeline
    sources add."""
    ac = abandoned_checkout
    entries = [TimelineEntry(at=ac.created_at, kind="abandoned", title="Checkout abandoned", status="warning")]
    for activity in activities_for_timeline(abandoned_checkout=ac):
        reason = activity.reason.replace("_", " ").capitalize() if activity.reason else ""
        detail = activity.detail if isinstance(activity.detail, dict) else {}
        if reason and detail.get("reasonText"):  # what the reason was about: "Condition not met: 2 items"
            reason = f"{reason}: {detail['reasonText']}"
        # The writer names what acted (automation and step, or the member) in `label`.
        label = str(detail.get("label") or "")
        entries.append(
            TimelineEntry(
                at=activity.created_at,
                kind="activity",
                title=_activity_title(activity),
                detail=" · ".join(part for part in (label, reason) if part),
                status=_ACTIVITY_STATUS.get(activity.type, ""),
                key=f"message:{detail['messageId']}" if detail.get("messageId") else "",
            )
        )
    events = [_event_entry(event) for event in timeline_events_for(abandoned_checkout=ac)]
    entries.extend(events)
    # Clicks counted before each one was recorded show as one summary line.
    if ac.last_clicked_at and not any(entry.kind == "click" for entry in events):
        clicks = f"{ac.link_clicks} click{'s' if ac.link_clicks != 1 else ''} in all"
        entries.append(TimelineEntry(at=ac.last_clicked_at, kind="click", title="Recovery link opened", detail=clicks))
    if ac.checkout_recovered_at:
        order = f"Order {ac.recovered_order_id}" if ac.recovered_order_id else ""
        entries.append(
            TimelineEntry(at=ac.checkout_recovered_at, kind="recovered", title="Recovered", detail=order, status="ok")
        )
    sourced = [entry for source in timeline_sources() for entry in source(ac)]
    by_key = {entry.key: entry for entry in sourced if entry.key}
    for index, entry in enumerate(entries):
        twin = by_key.pop(entry.key, None) if entry.key else None
        if twin is not None:
            # One line per event: the source's title and link, the activity's names and time.
            details = " · ".join(part for part in (entry.detail, twin.detail) if part)
            entries[index] = replace(twin, at=entry.at, detail=details)
            sourced.remove(twin)
    entries.extend(sourced)
    return sorted(entries, key=lambda entry: entry.at)


def abandoned_checkout_for_recovery_link(*, abandoned_checkout_id: UUID, store_id: UUID) -> AbandonedCheckout | None:
    """The checkout a recovery link names, only if the link's metasiteId is its store."""
    return AbandonedCheckout.objects.filter(pk=abandoned_checkout_id, store_id=store_id).select_related("store").first()


def abandoned_checkout_totals(
    *, store: Store, start: datetime, end: datetime, statuses: list[str] | None = None
) -> dict[str, Decimal | int]:
    """Value and count of recoverable (still abandoned) and recovered checkouts abandoned in [start, end).

    One aggregate over the `(store, created_at)` index range.
    """
    queryset = abandoned_checkouts_for_store(store=store).filter(created_at__gte=start, created_at__lt=end)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    abandoned = AbandonedCheckout.objects.abandoned_q()
    recovered = AbandonedCheckout.objects.recovered_q()
    return queryset.aggregate(
        recoverable_value=Sum("total", filter=abandoned, default=Decimal(0)),
        recoverable_count=Count("id", filter=abandoned),
        recovered_value=Sum("total", filter=recovered, default=Decimal(0)),
        recovered_count=Count("id", filter=recovered),
    )
