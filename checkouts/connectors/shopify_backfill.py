"""Shopify backfill: the Admin GraphQL `abandonedCheckouts` connection, page by page along its cursor.

Reference: /work/shared/reference/connectors.md §2.6. Each node becomes the same checkout event a
webhook would have made (same checkout id: the token in the recovery URL), with an event id built
from the node's id and `updatedAt`, so a rerun is a replay that writes nothing. The watermark is
the newest `updatedAt` seen; the next run asks only for what changed since (with an overlap).
"""

import json
import re
import time
from datetime import datetime, timedelta
from typing import Any

import urllib3

from ..models import Connection
from ..services.connections import BackfillError, connection_events_ingest, connection_watermark_set
from ..webhooks.ssrf import UnsafeURL, check_url
from .mapping import Malformed

# Nodes per page: connection sizes multiply the query cost (at most 1,000 points a query).
PAGE_SIZE = 50
# Shopify's search index may lag: each run re-reads this much before the watermark (replays are free).
OVERLAP = timedelta(minutes=5)
THROTTLE_RETRIES = 5
# A throttled page waits what the bucket needs to refill, but never longer than this (a worker is held).
MAX_THROTTLE_WAIT = 30.0
DEFAULT_API_VERSION = "2025-10"
_TOKEN = re.compile(r"/checkouts/(?:[a-z]{2}/)?([A-Za-z0-9_-]+)/recover")
_http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=30), retries=False)

QUERY = """
query Backfill($first: Int!, $after: String, $q: String) {
  abandonedCheckouts(first: $first, after: $after, query: $q, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name createdAt updatedAt completedAt abandonedCheckoutUrl discountCodes
      customer { id firstName lastName locale
        defaultEmailAddress { emailAddress marketingState }
        defaultPhoneNumber { phoneNumber marketingState } }
      billingAddress { firstName lastName phone }
      subtotalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
      totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
      lineItems(first: 50) { nodes { id title variantTitle sku quantity
        originalUnitPriceSet { shopMoney { amount } presentmentMoney { amount } }
        image { url } product { id } variant { id } } }
    }
  }
}
"""


def endpoint(connection: Connection) -> str:
    base = connection.settings.get("api_base_url") or f"https://{connection.settings.get('shop_domain', '')}"
    version = connection.settings.get("api_version") or DEFAULT_API_VERSION
    return f"{base.rstrip('/')}/admin/api/{version}/graphql.json"


def backfill(connection: Connection) -> int:
    """Walk every page since the watermark into ingest; how many checkouts were read."""
    if not connection.secondary_secret or not (
        connection.settings.get("shop_domain") or connection.settings.get("api_base_url")
    ):
        raise BackfillError("A backfill needs the shop domain and an Admin API access token.")
    query = f"updated_at:>='{_since(connection.watermark)}'" if connection.watermark else None
    cursor, seen, newest = None, 0, connection.watermark
    while True:
        page = _page(connection, cursor=cursor, query=query)
        events = []
        for node in page["nodes"]:
            try:
                events += node_events(node)
            except Malformed as exc:
                raise BackfillError(f"Shopify sent a checkout Comeback cannot read ({exc}).") from None
            newest = max(newest, node.get("updatedAt") or "")
        if events:
            connection_events_ingest(connection=connection, events=events)
        seen += len(page["nodes"])
        if not page["pageInfo"].get("hasNextPage"):
            break
        cursor = page["pageInfo"]["endCursor"]
    connection_watermark_set(connection=connection, watermark=newest)
    return seen


def node_events(node: dict[str, Any]) -> list[dict[str, Any]]:
    """An `AbandonedCheckout` node as checkout events: its snapshot, and its completion if it has one."""
    gid = str(node.get("id") or "")
    if not gid or not node.get("updatedAt"):
        raise Malformed("id", "A node needs its id and updatedAt.")
    match = _TOKEN.search(node.get("abandonedCheckoutUrl") or "")
    checkout_id = match.group(1) if match else gid.rsplit("/", 1)[-1]
    total = node.get("totalPriceSet") or {}
    shop, presentment = total.get("shopMoney") or {}, total.get("presentmentMoney") or {}
    currency = shop.get("currencyCode") or ""
    converted = presentment.get("currencyCode") if presentment.get("currencyCode") not in (None, currency) else ""
    customer = node.get("customer") or {}
    billing = node.get("billingAddress") or {}
    email = ((customer.get("defaultEmailAddress") or {}).get("emailAddress")) or ""
    snapshot: dict[str, Any] = {
        "id": checkout_id,
        "currency": currency,
        "totalPrice": _money(node.get("totalPriceSet"), converted),
        "subtotalPrice": _money(node.get("subtotalPriceSet"), converted),
        "buyerInfo": {"email": email},
        "contactDetails": {
            "firstName": customer.get("firstName") or billing.get("firstName") or "",
            "lastName": customer.get("lastName") or billing.get("lastName") or "",
            "phone": ((customer.get("defaultPhoneNumber") or {}).get("phoneNumber")) or billing.get("phone") or "",
        },
        "lineItems": [_line_item(item, converted) for item in (node.get("lineItems") or {}).get("nodes") or []],
        "appliedDiscounts": [
            {"coupon": {"code": code[:50], "amount": {"amount": "0"}}} for code in node.get("discountCodes") or []
        ],
    }
    if converted:
        snapshot["conversionCurrency"] = converted
    if customer.get("id"):
        snapshot["buyerInfo"]["contactId"] = str(customer["id"]).rsplit("/", 1)[-1]
    if customer.get("locale"):
        snapshot["buyerLanguage"] = customer["locale"][:16]
    if node.get("abandonedCheckoutUrl"):
        snapshot["checkoutUrl"] = node["abandonedCheckoutUrl"]
    consent = {
        key: (state.get("marketingState") == "SUBSCRIBED")
        for key, state in (("email", customer.get("defaultEmailAddress")), ("sms", customer.get("defaultPhoneNumber")))
        if state and state.get("marketingState")
    }
    if consent:
        snapshot["marketingConsent"] = consent
    events = [
        {
            "eventId": f"shopify-backfill:{gid}:{node['updatedAt']}",
            "type": "checkout.updated",
            "occurredAt": node["updatedAt"],
            "checkout": snapshot,
        }
    ]
    if node.get("completedAt"):
        events.append(
            {
                "eventId": f"shopify-backfill:{gid}:completed",
                "type": "checkout.completed",
                "occurredAt": node["completedAt"],
                "checkout": {"id": checkout_id},
            }
        )
    return events


def _money(money_set: Any, converted: str) -> dict[str, Any]:
    money_set = money_set or {}
    price = {"amount": (money_set.get("shopMoney") or {}).get("amount", "0")}
    if converted and (money_set.get("presentmentMoney") or {}).get("amount") is not None:
        price["convertedAmount"] = money_set["presentmentMoney"]["amount"]
    return price


def _line_item(item: dict[str, Any], converted: str) -> dict[str, Any]:
    line: dict[str, Any] = {
        "id": str(item.get("id") or "").rsplit("/", 1)[-1][:100],
        "quantity": item.get("quantity"),
        "productName": {"original": (item.get("title") or "Item")[:200]},
        "price": _money(item.get("originalUnitPriceSet"), converted),
    }
    if item.get("variantTitle"):
        line["descriptionLines"] = [{"name": {"original": "Variant"}, "plainText": {"original": item["variantTitle"]}}]
    if item.get("sku"):
        line["physicalProperties"] = {"sku": item["sku"][:40]}
    if (item.get("image") or {}).get("url"):
        line["image"] = {"url": item["image"]["url"]}
    return line


def _since(watermark: str) -> str:
    try:
        moment = datetime.fromisoformat(watermark.replace("Z", "+00:00"))
    except ValueError:
        return watermark
    return (moment - OVERLAP).isoformat().replace("+00:00", "Z")


def _page(connection: Connection, *, cursor: str | None, query: str | None) -> dict[str, Any]:
    body = json.dumps({"query": QUERY, "variables": {"first": PAGE_SIZE, "after": cursor, "q": query}})
    headers = {"Content-Type": "application/json", "X-Shopify-Access-Token": connection.secondary_secret}
    try:
        check_url(endpoint(connection))  # the merchant typed the base URL: only public addresses are called
    except UnsafeURL as exc:
        raise BackfillError(f"The Admin API address is refused: {exc}") from None
    for _attempt in range(THROTTLE_RETRIES):
        try:
            response = _http.request("POST", endpoint(connection), body=body.encode(), headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            raise BackfillError(f"Shopify's Admin API could not be reached ({exc.__class__.__name__}).") from None
        if response.status in (401, 403):
            raise BackfillError("Shopify refused the Admin API access token (it needs read_orders).")
        if response.status != 200:
            raise BackfillError(f"Shopify's Admin API answered HTTP {response.status}.")
        try:
            data = json.loads(response.data)
        except ValueError:
            raise BackfillError("Shopify's Admin API answered something that is not JSON.") from None
        errors = data.get("errors") or []
        if any((error.get("extensions") or {}).get("code") == "THROTTLED" for error in errors):
            time.sleep(_throttle_wait(data))
            continue
        if errors:
            raise BackfillError(f"Shopify's Admin API refused the query: {errors[0].get('message', '')[:200]}")
        return data["data"]["abandonedCheckouts"]
    raise BackfillError("Shopify kept throttling the backfill; try again later.")


def _throttle_wait(data: dict[str, Any]) -> float:
    cost = (data.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    needed = cost.get("requestedQueryCost", 0) - status.get("currentlyAvailable", 0)
    return min(max(needed / (status.get("restoreRate") or 50), 1.0), MAX_THROTTLE_WAIT)
