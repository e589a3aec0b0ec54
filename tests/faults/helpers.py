"""Events, ledgers and figures for the fault tests."""

import bisect
import itertools
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import datetime, timedelta

from django.db.models import Count

from checkouts.models import AbandonedCheckout, Store, WebhookEvent
from tests.checkouts.helpers import checkout_body, iso


def idle_event(external_id: str, *, since: datetime, event_id: str | None = None) -> dict:
    """A checkout.updated event whose checkout has been idle since `since`."""
    return {
        "eventId": event_id or f"upd-{external_id}-{since.timestamp():.3f}",
        "type": "checkout.updated",
        "occurredAt": iso(since),
        "checkout": checkout_body(external_id, email=f"{external_id}@example.com"),
    }


def completed(external_id: str, *, at: datetime) -> dict:
    return {
        "eventId": f"done-{external_id}",
        "type": "checkout.completed",
        "occurredAt": iso(at),
        "checkout": {"id": external_id},
        "orderId": f"order-{external_id}",
    }


def due_over(now: datetime, abandon_after: timedelta, index: int, count: int, seconds: float) -> datetime:
    """Activity times that make `count` checkouts fall due one after another over the next `seconds`."""
    return now - abandon_after + timedelta(seconds=seconds * index / count)


def duplicates(arrivals: list[tuple[str, float]]) -> dict[str, list[float]]:
    """key → arrival times, for the keys that arrived more than once."""
    counts = Counter(key for key, _ in arrivals)
    times: dict[str, list[float]] = {}
    for key, at in arrivals:
        if counts[key] > 1:
            times.setdefault(key, []).append(at)
    return {key: sorted(ats) for key, ats in times.items()}


def outside_crash_window(repeats: dict[str, list[float]], kills: list[float]) -> list[str]:
    """Keys sent again without a SIGKILL between two sends: a duplicate no crash explains."""
    kills = sorted(kills)
    bad = []
    for key, ats in repeats.items():
        for first, again in itertools.pairwise(ats):
            # Some kill must fall between the first send and the repeat.
            position = bisect.bisect_right(kills, first)
            if position == len(kills) or kills[position] > again:
                bad.append(key)
                break
    return bad


def figure(name: str, **figures) -> str:
    """One line for `pytest -s` and docs/reliability.md."""
    line = f"[faults] {name}: " + ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in figures.items())
    print("\n" + line)
    return line


def post_json(url: str, body: dict, *, key: str, timeout: float = 30) -> tuple[int, float, dict]:
    """POST JSON with an API key; (status, seconds, parsed body). Never raises on an HTTP error status."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": key, "Content-Type": "application/json"},
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    elapsed = time.monotonic() - started
    try:
        parsed = json.loads(raw or b"{}")
    except ValueError:
        parsed = {"raw": raw[:500].decode(errors="replace")}
    return status, elapsed, parsed


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def assert_abandoned_once(shop: Store, count: int) -> None:
    """Every one of `count` checkouts abandoned exactly once, with exactly one `created` event."""
    acs = AbandonedCheckout.objects.filter(store=shop)
    assert acs.count() == count
    assert acs.values("checkout_id").distinct().count() == count
    created = WebhookEvent.objects.filter(type="created").values("entity_id").annotate(n=Count("id"))
    assert sorted(row["n"] for row in created) == [1] * count
