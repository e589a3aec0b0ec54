"""Shopify backfill against a local server answering the Admin GraphQL `abandonedCheckouts` connection."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from checkouts.models import Checkout, Connection
from checkouts.services.connections import connection_backfill_run, connection_create

pytestmark = pytest.mark.django_db


def node(n: int, *, updated: str, completed: str | None = None) -> dict:
    return {
        "id": f"gid://shopify/AbandonedCheckout/{n}",
        "name": f"#{n}",
        "createdAt": "2025-03-01T10:00:00Z",
        "updatedAt": updated,
        "completedAt": completed,
        "abandonedCheckoutUrl": f"https://acme.myshopify.com/1/checkouts/tok{n}/recover?key=k",
        "discountCodes": ["WELCOME5"],
        "customer": {
            "id": f"gid://shopify/Customer/{n}",
            "firstName": "Ana",
            "lastName": "Lima",
            "locale": "pt-PT",
            "defaultEmailAddress": {"emailAddress": f"ana{n}@example.com", "marketingState": "SUBSCRIBED"},
            "defaultPhoneNumber": None,
        },
        "billingAddress": None,
        "subtotalPriceSet": {
            "shopMoney": {"amount": "40.0", "currencyCode": "USD"},
            "presentmentMoney": {"amount": "37.0", "currencyCode": "EUR"},
        },
        "totalPriceSet": {
            "shopMoney": {"amount": "42.5", "currencyCode": "USD"},
            "presentmentMoney": {"amount": "39.1", "currencyCode": "EUR"},
        },
        "lineItems": {
            "nodes": [
                {
                    "id": "gid://shopify/AbandonedCheckoutLineItem/1",
                    "title": "Mug",
                    "variantTitle": "Blue",
                    "sku": "MUG-1",
                    "quantity": 2,
                    "originalUnitPriceSet": {"shopMoney": {"amount": "20.0"}, "presentmentMoney": {"amount": "18.5"}},
                    "image": {"url": "https://cdn.shopify.com/mug.png"},
                    "product": {"id": "gid://shopify/Product/1"},
                    "variant": {"id": "gid://shopify/ProductVariant/1"},
                }
            ]
        },
    }


class FakeShopify:
    """Pages of nodes by cursor; remembers each request's variables and token; throttles once if asked."""

    def __init__(self, nodes: list[dict], *, page: int = 2, throttle_first: bool = False):
        self.nodes, self.page, self.throttle = nodes, page, throttle_first
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(
                    {"path": self.path, "token": self.headers["X-Shopify-Access-Token"], **body["variables"]}
                )
                if fake.throttle:
                    fake.throttle = False
                    answer = {
                        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                        "extensions": {
                            "cost": {
                                "requestedQueryCost": 10,
                                "throttleStatus": {"currentlyAvailable": 0, "restoreRate": 1000},
                            }
                        },
                    }
                else:
                    start = int(body["variables"]["after"] or 0)
                    chunk = fake.nodes[start : start + fake.page]
                    end = start + len(chunk)
                    answer = {
                        "data": {
                            "abandonedCheckouts": {
                                "nodes": chunk,
                                "pageInfo": {"hasNextPage": end < len(fake.nodes), "endCursor": str(end)},
                            }
                        }
                    }
                raw = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def shopify_server():
    servers = []

    def start(*args, **kwargs):
        servers.append(FakeShopify(*args, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.server.shutdown()


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = True  # the Shopify stand-in listens on this machine


def connect(store, url):
    return connection_create(
        store=store,
        platform="shopify",
        secret="s",
        secondary_secret="shpat_token",
        settings={"shop_domain": "acme.myshopify.com", "api_base_url": url, "api_version": "2025-10"},
    )


def test_the_backfill_follows_the_cursor_maps_every_checkout_and_keeps_a_watermark(store, shopify_server):
    nodes = [node(n, updated=f"2025-03-0{n}T10:00:00Z") for n in range(1, 6)]
    nodes[4]["completedAt"] = "2025-03-05T11:00:00Z"
    server = shopify_server(nodes, throttle_first=True)
    connection = connect(store, server.url)
    assert connection_backfill_run(connection_id=str(connection.pk)) == 5
    assert [r["after"] for r in server.requests] == [None, None, "2", "4"]  # throttled once, then three pages
    assert {r["path"] for r in server.requests} == {"/admin/api/2025-10/graphql.json"}
    assert {r["token"] for r in server.requests} == {"shpat_token"}
    checkouts = {c.external_id: c for c in Checkout.objects.filter(store=store)}
    assert set(checkouts) == {f"tok{n}" for n in range(1, 6)}
    first = checkouts["tok1"]
    assert (first.buyer_email, first.first_name, first.buyer_language) == ("ana1@example.com", "Ana", "pt-PT")
    assert (first.currency, first.conversion_currency, str(first.total_converted)) == ("USD", "EUR", "39.1000")
    assert first.line_items[0]["physicalProperties"]["sku"] == "MUG-1"
    assert first.marketing_consent == {"email": True}
    assert checkouts["tok5"].completed_at is not None and first.completed_at is None
    connection.refresh_from_db()
    assert connection.watermark == "2025-03-05T10:00:00Z"


def test_a_rerun_asks_from_the_watermark_and_writes_nothing_new(store, shopify_server):
    server = shopify_server([node(1, updated="2025-03-01T10:00:00Z")])
    connection = connect(store, server.url)
    connection_backfill_run(connection_id=str(connection.pk))
    before = Checkout.objects.get().updated_at
    connection_backfill_run(connection_id=str(connection.pk))
    assert server.requests[-1]["q"] == "updated_at:>='2025-03-01T09:55:00Z'"
    assert Checkout.objects.get().updated_at == before


def test_a_refused_token_is_noted_in_plain_words(store):
    connection = connect(store, "http://127.0.0.1:9")  # nothing listens there
    assert connection_backfill_run(connection_id=str(connection.pk)) == 0
    connection.refresh_from_db()
    assert "could not be reached" in connection.last_error
    assert not Checkout.objects.exists()


def test_a_paused_connection_is_not_backfilled(store, shopify_server):
    server = shopify_server([node(1, updated="2025-03-01T10:00:00Z")])
    connection = connect(store, server.url)
    Connection.objects.filter(pk=connection.pk).update(status="paused")
    assert connection_backfill_run(connection_id=str(connection.pk)) == 0
    assert not server.requests


def test_an_internal_admin_api_address_is_refused(store, shopify_server, settings):
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = False
    server = shopify_server([node(1, updated="2025-03-01T10:00:00Z")])
    connection = connect(store, server.url)
    assert connection_backfill_run(connection_id=str(connection.pk)) == 0
    assert not server.requests
    connection.refresh_from_db()
    assert "refused" in connection.last_error and "loopback" in connection.last_error
