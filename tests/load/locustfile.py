"""The load scenario: a storefront ingesting, merchants browsing, apps querying (see docs/load-test.md).

`tests/load/run.py` prepares the database and the processes and passes the keys and the login
in the environment; run alone, point it at a server prepared the same way:

    LOAD_INGEST_KEY=... LOAD_READ_KEY=... LOAD_USERNAME=demo LOAD_PASSWORD=demo \\
        locust -f tests/load/locustfile.py --host http://127.0.0.1:8000

Requests are named by type ("ingest", "dashboard list", "wix query", ...) so the report has
one row per type. Every request says it came through the TLS-terminating proxy
(X-Forwarded-Proto), as it would in production, so production settings need no relaxing.
"""

import os
import random
import re
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import gevent
from locust import HttpUser, between, constant_throughput, events, task

PROXY = {"X-Forwarded-Proto": "https"}
# Events per ingest request: a storefront flushing its queue every few hundred milliseconds.
INGEST_BATCH = int(os.environ.get("LOAD_INGEST_BATCH", "5"))
# Ingest requests per second, per ingest user (run.py derives it from the events/s asked for).
INGEST_REQUESTS_PER_SECOND = float(os.environ.get("LOAD_INGEST_RPS", "2"))
IDLE_OFFSET_SECONDS = int(os.environ.get("LOAD_IDLE_OFFSET", "60"))
NEXT_LINK = re.compile(r'rel="next" href="([^"]+)"')
DETAIL_LINK = re.compile(r'href="/checkouts/([0-9a-f-]{36})/"')
# Every path the scenario requests ({id}: an abandoned checkout's); tests/load/test_locustfile.py resolves them.
ROUTES = {
    "ingest": "/api/v1/checkout-events",
    "login": "/accounts/login/",
    "overview": "/",
    "list": "/checkouts/",
    "detail": "/checkouts/{id}/",
    "export": "/checkouts/export.csv",
    "wix query": "/ecom/v1/abandoned-checkout/query",
    "wix search": "/ecom/v1/abandoned-checkout/search",
    "wix get": "/ecom/v1/abandoned-checkout/{id}",
    "rest list": "/api/v1/abandoned-checkouts/",
}
PRODUCTS = [
    ("trail-backpack", "Trail Backpack", "129.00"),
    ("rain-jacket", "Rain Jacket", "189.00"),
    ("wool-beanie", "Wool Beanie", "29.00"),
    ("headlamp", "Headlamp", "45.00"),
    ("linen-shirt", "Linen Shirt", "75.00"),
]
# What a merchant filters the list by (the dashboard's own query parameters).
LIST_FILTERS = [
    {},
    {},
    {"status": "ABANDONED"},
    {"status": "RECOVERED"},
    {"period": "7d"},
    {"period": "30d", "has_email": "true"},
    {"total_min": "100"},
    {"q": "olivia"},
    {"sort": "-total"},
]
# What an app asks the Wix-compatible Query method (filters and sorts the SDK builds).
WIX_QUERIES = [
    {},
    {"filter": {"status": "ABANDONED"}},
    {"filter": {"status": "RECOVERED"}, "sort": [{"fieldName": "createdDate", "order": "ASC"}]},
    {"filter": {"createdDate": {"$gte": "2026-01-01T00:00:00Z"}}, "sort": [{"fieldName": "updatedDate"}]},
    {"filter": {"buyerInfo.email": {"$startsWith": "o"}}},
]
REST_FILTERS = [{}, {"status": "ABANDONED"}, {"period": "7d"}, {"total_min": "50", "ordering": "-total"}]


@events.test_start.add_listener
def reset_stats_after_warmup(environment, **kwargs) -> None:
    """The first LOAD_WARMUP seconds (sign-ins, cold caches, spawning) are not measured."""
    warmup = float(os.environ.get("LOAD_WARMUP", "0"))
    if warmup and environment.runner is not None:
        gevent.spawn_later(warmup, environment.runner.stats.reset_all)


def iso_now() -> str:
    """The event's time, set back by the store's abandon_after: a checkout is due as soon as it
    goes quiet, so each minute's sweep abandons what went idle since the last one (a real store
    waits an hour; the run compresses that)."""
    moment = datetime.now(UTC) - timedelta(seconds=IDLE_OFFSET_SECONDS)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def path_of(url: str | None) -> str | None:
    """The REST API's links are absolute, on the scheme the proxy reported: keep path and query."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def checkout_body(external_id: str, *, items: int) -> dict:
    lines = []
    total = 0.0
    for index, (slug, name, price) in enumerate(random.sample(PRODUCTS, items)):
        quantity = random.randint(1, 3)
        total += float(price) * quantity
        lines.append(
            {
                "id": f"li-{index}",
                "quantity": quantity,
                "productName": {"original": name},
                "catalogReference": {"catalogItemId": slug, "appId": "215238eb-22a5-4c36-9e7b-e7c08025e04e"},
                "price": {"amount": price},
            }
        )
    amount = f"{total:.2f}"
    return {
        "id": external_id,
        "cartId": "cart-" + external_id,
        "buyerInfo": {"email": f"buyer-{external_id}@example.com", "visitorId": str(uuid.uuid4())},
        "contactDetails": {"firstName": "Load", "lastName": external_id[-6:]},
        "buyerLanguage": "en",
        "currency": "USD",
        "subtotalPrice": {"amount": amount},
        "totalPrice": {"amount": amount},
        "lineItems": lines,
        "checkoutUrl": f"https://shop.example.com/checkout/{external_id}",
    }


class CheckoutStream:
    """One storefront's checkout activity: half the events open a checkout, a quarter change an
    open one's cart, a quarter complete one. Most checkouts go idle and the sweep abandons them
    (store abandon_after: 1 minute), so the automation and the webhook outbox get work; a
    checkout completed after its abandonment is a recovery."""

    def __init__(self) -> None:
        self.open: deque[str] = deque(maxlen=500)

    def event(self) -> dict:
        roll = random.random()
        if roll < 0.5 or len(self.open) < 10:
            external_id = uuid.uuid4().hex[:16]
            self.open.append(external_id)
            return self.updated(external_id)
        if roll < 0.75:
            return self.updated(random.choice(self.open))
        # The oldest open checkout: often one already abandoned, which makes a recovery.
        external_id = self.open.popleft()
        return {
            "eventId": str(uuid.uuid4()),
            "type": "checkout.completed",
            "occurredAt": iso_now(),
            "checkout": {"id": external_id},
            "orderId": f"order-{external_id}",
        }

    def updated(self, external_id: str) -> dict:
        return {
            "eventId": str(uuid.uuid4()),
            "type": "checkout.updated",
            "occurredAt": iso_now(),
            "checkout": checkout_body(external_id, items=random.randint(1, 3)),
        }


class Storefront(HttpUser):
    """A storefront reporting checkout activity at a steady rate, in small batches."""

    weight = 1
    fixed_count = int(os.environ.get("LOAD_INGEST_USERS", "3"))
    wait_time = constant_throughput(INGEST_REQUESTS_PER_SECOND)

    def on_start(self) -> None:
        self.headers = {**PROXY, "Authorization": os.environ["LOAD_INGEST_KEY"]}
        self.stream = CheckoutStream()

    @task
    def ingest(self) -> None:
        batch = {"events": [self.stream.event() for _ in range(INGEST_BATCH)]}
        with self.client.post(
            ROUTES["ingest"], json=batch, headers=self.headers, name="ingest", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
            elif response.json()["bulkActionMetadata"]["totalFailures"]:
                response.failure(f"events refused: {response.text[:200]}")


class Merchant(HttpUser):
    """A merchant signed in to the dashboard: overview, the list with filters and pages, details."""

    weight = int(os.environ.get("LOAD_MERCHANT_WEIGHT", "2"))
    wait_time = between(2, 5)

    def on_start(self) -> None:
        self.client.headers.update(PROXY)
        self.detail_ids: list[str] = []
        self.next_url: str | None = None
        login = self.client.get(ROUTES["login"], name="login page")
        self.send_secure_cookies()
        token = self.client.cookies.get("csrftoken")
        response = self.client.post(
            ROUTES["login"],
            data={
                "username": os.environ.get("LOAD_USERNAME", "demo"),
                "password": os.environ.get("LOAD_PASSWORD", "demo"),
                "csrfmiddlewaretoken": token,
            },
            # The browser's Origin: CSRF checks it on a secure request.
            headers={"Origin": login.url.replace("http://", "https://").split("/accounts/")[0]},
            name="login",
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"login failed: {response.status_code}")

    def send_secure_cookies(self) -> None:
        """Production marks its cookies Secure; on loopback the proxy's TLS is only pretended, so
        the client must send them over plain HTTP all the same. Any response may set a cookie
        again (a new CSRF token, the session's store), so this runs before every request."""
        for cookie in self.client.cookies:
            cookie.secure = False

    def page(self, url: str, name: str, **params) -> str:
        self.send_secure_cookies()
        with self.client.get(url, params=params or None, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
                return ""
            if "/accounts/login/" in response.url:
                response.failure("signed out")
                return ""
            return response.text

    @task(2)
    def overview(self) -> None:
        self.page(ROUTES["overview"], "dashboard overview")

    @task(4)
    def checkout_list(self) -> None:
        html = self.page(ROUTES["list"], "dashboard list", **random.choice(LIST_FILTERS))
        self.remember(html)

    @task(2)
    def checkout_list_next(self) -> None:
        if not self.next_url:
            return self.checkout_list()
        html = self.page(self.next_url.replace("&amp;", "&"), "dashboard list next")
        self.remember(html)

    @task(3)
    def checkout_detail(self) -> None:
        if not self.detail_ids:
            return self.checkout_list()
        self.page(ROUTES["detail"].format(id=random.choice(self.detail_ids)), "dashboard detail")

    @task(1)
    def export(self) -> None:
        self.send_secure_cookies()
        with self.client.get(
            ROUTES["export"], params={"period": "7d"}, name="dashboard export", catch_response=True
        ) as response:
            if response.status_code != 200 or not response.headers.get("Content-Type", "").startswith("text/csv"):
                response.failure(f"{response.status_code}: {response.text[:100]}")

    def remember(self, html: str) -> None:
        found = NEXT_LINK.search(html)
        self.next_url = found.group(1) if found else None
        ids = DETAIL_LINK.findall(html)
        if ids:
            self.detail_ids = ids


class App(HttpUser):
    """An app reading through the Wix-compatible API (Query, Search, Get, cursor pages) and the REST API."""

    weight = int(os.environ.get("LOAD_APP_WEIGHT", "2"))
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.headers = {**PROXY, "Authorization": os.environ["LOAD_READ_KEY"]}
        self.cursor: str | None = None
        self.rest_next: str | None = None
        self.ids: list[str] = []

    def call(self, method: str, path: str, name: str, body: dict | None = None) -> dict:
        kwargs = {"json": body} if method == "POST" else {}
        with self.client.request(
            method, path, headers=self.headers, name=name, catch_response=True, **kwargs
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return {}
            return response.json()

    @task(3)
    def wix_query(self) -> None:
        query = {**random.choice(WIX_QUERIES), "cursorPaging": {"limit": random.choice([20, 50, 100])}}
        body = self.call("POST", ROUTES["wix query"], "wix query", {"query": query})
        self.remember_wix(body, "metadata")

    @task(2)
    def wix_query_next(self) -> None:
        if not self.cursor:
            return self.wix_query()
        body = self.call(
            "POST",
            ROUTES["wix query"],
            "wix query next",
            {"query": {"cursorPaging": {"cursor": self.cursor, "limit": 50}}},
        )
        self.remember_wix(body, "metadata")

    @task(2)
    def wix_search(self) -> None:
        search = {"cursorPaging": {"limit": 50}, "search": {"expression": random.choice(["olivia", "noah", "mia"])}}
        body = self.call("POST", ROUTES["wix search"], "wix search", {"search": search})
        self.remember_wix(body, "pagingMetadata", keep_cursor=False)

    @task(2)
    def wix_get(self) -> None:
        if not self.ids:
            return self.wix_query()
        self.call("GET", ROUTES["wix get"].format(id=random.choice(self.ids)), "wix get")

    @task(2)
    def rest_list(self) -> None:
        params = "&".join(f"{key}={value}" for key, value in random.choice(REST_FILTERS).items())
        body = self.call("GET", f"{ROUTES['rest list']}?{params}", "rest list")
        self.rest_next = path_of(body.get("next"))

    @task(1)
    def rest_list_next(self) -> None:
        if not self.rest_next:
            return self.rest_list()
        body = self.call("GET", self.rest_next, "rest list next")
        self.rest_next = path_of(body.get("next"))

    def remember_wix(self, body: dict, metadata: str, *, keep_cursor: bool = True) -> None:
        if not body:
            return
        ids = [item["id"] for item in body["abandonedCheckouts"]]
        if ids:
            self.ids = ids
        if keep_cursor:
            self.cursor = (body[metadata].get("cursors") or {}).get("next")
