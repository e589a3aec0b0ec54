"""comeback.js on a demo storefront (another origin): GA4 events and a typed email become an abandoned
checkout when consent is given; nothing at all is sent when it is refused."""

import threading
import time
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from checkouts.models import AbandonedCheckout, Checkout
from checkouts.services import abandoned_checkouts_detect, store_create
from checkouts.services.connections import connection_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STOREFRONT = Path(__file__).parent / "storefront"


class Storefront(SimpleHTTPRequestHandler):
    page = ""

    def do_GET(self):
        if self.path.startswith("/checkout"):
            body = self.page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def storefront(live_server):
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Storefront, directory=str(STOREFRONT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def shop(storefront, live_server, settings):
    settings.COMEBACK_PUBLIC_URL = live_server.url
    store = store_create(name="Demo shop", currency="EUR", language="en", time_zone="UTC")
    connection = connection_create(store=store, platform="script", settings={"origins": storefront, "capture": True})
    template = (STOREFRONT / "checkout.html").read_text()
    Storefront.page = template.replace("{{COMEBACK}}", live_server.url).replace("{{KEY}}", f"pk_{connection.token}")
    return store


def beacon(page):
    """Wait for comeback.js's next beacon to be answered (the database is read only after it, never during)."""
    return page.expect_response(lambda response: "/connect/browser/events" in response.url)


def test_with_consent_the_checkout_and_its_email_arrive_and_are_abandoned(page, shop, storefront):
    with beacon(page) as first:
        page.goto(f"{storefront}/checkout?consent=granted")
    assert first.value.status == 200
    with beacon(page) as second:
        page.fill("#email", "ana@example.com")
        page.locator("#phone").focus()  # leaving the field: comeback.js picks the address up
    assert second.value.status == 200
    checkout = Checkout.objects.get(store=shop)
    assert checkout.buyer_email == "ana@example.com"
    assert (checkout.currency, checkout.line_items[0]["productName"]["original"]) == ("EUR", "Mug")
    abandoned_checkouts_detect(now=checkout.last_activity_at + timedelta(days=1))
    assert AbandonedCheckout.objects.get(store=shop).buyer_email == "ana@example.com"


def test_a_browser_purchase_completes_the_checkout(page, shop, storefront):
    with beacon(page):
        page.goto(f"{storefront}/checkout?consent=granted")
    with beacon(page) as purchase:
        page.click("#pay")
    assert purchase.value.status == 200
    assert Checkout.objects.get(store=shop).completed_at is not None


def test_with_consent_refused_nothing_at_all_is_sent(page, shop, storefront, live_server):
    sent = []
    page.on("request", lambda request: sent.append(request.url) if "/connect/" in request.url else None)
    page.goto(f"{storefront}/checkout?consent=denied")
    page.wait_for_function("window.comeback && window.comeback.version === 1")
    page.fill("#email", "ana@example.com")
    page.locator("#phone").focus()
    page.click("#pay")
    time.sleep(1.5)
    assert sent == []
    assert not Checkout.objects.filter(store=shop).exists()
