"""The Wix pull: backfill a site's abandoned checkouts, then follow them through the Query method.

Pages are asked for in `updatedDate` order from the connection's watermark (inclusive: rows that
share the watermark's millisecond are read again and recognised as replays by the ingest
service), applied, and the watermark moved after each page, so an interrupted sync resumes
where it stopped. 429s and 5xx are retried by urllib3, which waits what `Retry-After` asks and
backs off exponentially otherwise.
"""

import contextlib
import json
import logging
from dataclasses import dataclass

import urllib3
from urllib3.util import Retry, Timeout

from ...models import Connection
from ...services.connections import connection_error_record
from ...services.wix_connections import EventsRefused, wix_events_apply, wix_watermark_advance
from ...webhooks.ssrf import UnsafeURL, check_url
from . import DEFAULT_BASE_URL
from .mapping import NotMappable, abandoned_checkout_events, checkout_id, moment

logger = logging.getLogger(__name__)

QUERY_PATH = "/ecom/v1/abandoned-checkout/query"
# Wix's largest page; at Wix's 200 requests a minute per instance, 20,000 rows a minute at most.
PAGE_SIZE = 100
RETRY = Retry(
    total=6,
    backoff_factor=1,
    backoff_max=60,
    status_forcelist=(429, 500, 502, 503, 504),
    allowed_methods=None,  # the Query method is a POST, and safe to repeat
    respect_retry_after_header=True,
    raise_on_status=False,
)
TIMEOUT = Timeout(connect=5, read=30)


class PullFailed(Exception):
    """The site could not be read (credentials, address, an answer that is not Wix's); said in plain words."""


@dataclass
class PullResult:
    pages: int = 0
    rows: int = 0
    refused: int = 0


def wix_pull(connection: Connection, *, page_size: int = PAGE_SIZE) -> PullResult:
    """Pull everything updated since the watermark; returns what was read. Raises PullFailed."""
    try:
        return _pull(connection, page_size=page_size)
    except PullFailed as exc:
        connection_error_record(connection=connection, message=f"The Wix sync stopped: {exc}")
        raise


def _pull(connection: Connection, *, page_size: int) -> PullResult:
    site_id = str(connection.settings.get("site_id") or "")
    if not connection.secret or not site_id:
        raise PullFailed("an API key and a site id are needed.")
    base_url = str(connection.settings.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    try:
        check_url(base_url + QUERY_PATH)
    except UnsafeURL as exc:
        raise PullFailed(f"the base URL cannot be used ({exc})") from exc
    http = urllib3.PoolManager(retries=RETRY, timeout=TIMEOUT)
    headers = {"Authorization": connection.secret, "wix-site-id": site_id, "Content-Type": "application/json"}
    query: dict = {"sort": [{"fieldName": "updatedDate", "order": "ASC"}], "cursorPaging": {"limit": page_size}}
    if connection.watermark:
        query["filter"] = {"updatedDate": {"$gte": connection.watermark}}
    result, cursor = PullResult(), None
    while True:
        body = {"query": {"cursorPaging": {"limit": page_size, "cursor": cursor}} if cursor else query}
        page = _post(http, base_url + QUERY_PATH, body, headers)
        rows = page.get("abandonedCheckouts") or []
        result.pages += 1
        result.rows += len(rows)
        result.refused += _apply(connection, rows)
        cursor = ((page.get("metadata") or {}).get("cursors") or {}).get("next")
        if not cursor or not rows:
            return result


def _post(http: urllib3.PoolManager, url: str, body: dict, headers: dict) -> dict:
    try:
        response = http.request("POST", url, body=json.dumps(body).encode(), headers=headers)
    except urllib3.exceptions.HTTPError as exc:
        raise PullFailed(f"Wix could not be reached ({exc.__class__.__name__}).") from exc
    if response.status != 200:
        message = ""
        with contextlib.suppress(ValueError, AttributeError):
            message = str(json.loads(response.data).get("message") or "")
        raise PullFailed(f"Wix answered {response.status}{': ' + message[:300] if message else ''}.")
    try:
        page = json.loads(response.data)
    except ValueError as exc:
        raise PullFailed("Wix's answer was not JSON.") from exc
    if not isinstance(page, dict):
        raise PullFailed("Wix's answer was not a page of abandoned checkouts.")
    return page


def _apply(connection: Connection, rows: list) -> int:
    """Apply one page, then move the watermark past it.

    The page goes in one transaction (one commit for up to 100 rows); if any row is refused, the
    page is applied again row by row, so one bad row is skipped and reported, not the page.
    """
    mapped, refused = [], 0
    for entity in rows:
        try:
            events, created = abandoned_checkout_events(entity)
            mapped.append((entity, events, created, moment(entity, "updatedDate")))
        except NotMappable as exc:
            refused += 1
            _skipped(connection, exc)
    try:
        wix_events_apply(
            connection=connection,
            events=[event for _, events, _, _ in mapped for event in events],
            abandoned={checkout_id(entity): created for entity, _, created, _ in mapped},
            activities={checkout_id(entity): entity.get("activities") or [] for entity, _, _, _ in mapped},
        )
    except EventsRefused:
        for entity, events, created, _ in mapped:
            try:
                wix_events_apply(
                    connection=connection,
                    events=events,
                    abandoned={checkout_id(entity): created},
                    activities={checkout_id(entity): entity.get("activities") or []},
                )
            except EventsRefused as exc:
                refused += 1
                _skipped(connection, exc)
    if mapped:
        wix_watermark_advance(connection=connection, updated=max(updated for *_, updated in mapped))
    return refused


def _skipped(connection: Connection, exc: Exception) -> None:
    connection_error_record(connection=connection, message=f"A Wix abandoned checkout was skipped: {exc}")
    logger.warning("Wix pull for connection %s skipped a row: %s", connection.pk, exc)
