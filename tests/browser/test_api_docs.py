"""In Chromium, under the site's strict CSP: the API docs and the browsable API work.

/api/docs/ loads Swagger UI from local static files (drf-spectacular-sidecar) and its init
script as a separate file, so `script-src 'self'` holds; the page must render every
operation without a single CSP violation. The browsable API must render for a merchant.
"""

import pytest
from django.test import Client

from tests.factories import AbandonedCheckoutFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_page(browser, origin: str, path: str, cookies=()):
    """The page, plus the console errors it logged and any request it made off this server."""
    context = browser.new_context()
    context.add_cookies(list(cookies))
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    external: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(origin) else external.append(request.url))
    page.goto(origin + path)
    return page, problems, external


def test_the_api_docs_render_under_the_csp_from_local_assets(browser, live_server):
    page, problems, external = open_page(browser, live_server.url, "/api/docs/")
    page.wait_for_selector(".opblock-summary", timeout=20_000)
    text = page.inner_text("body")
    for operation in ("/ecom/v1/abandoned-checkout/query", "/api/v1/checkout-events", "/api/v1/abandoned-checkouts/"):
        assert operation in text
    assert page.locator(".opblock").count() >= 12
    assert not [problem for problem in problems if "Content Security Policy" in problem], problems
    assert not problems, problems
    assert not [url for url in external if not url.startswith(("data:", "blob:"))], external


@pytest.fixture
def merchant_cookie(live_server, store):
    """A signed-in owner's session, made before the browser's event loop starts (the ORM is sync)."""
    AbandonedCheckoutFactory(store=store, buyer_email="shown@example.com")
    client = Client()
    client.force_login(MembershipFactory(store=store).user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


def test_the_browsable_api_works_for_a_signed_in_merchant(merchant_cookie, browser, live_server):
    page, problems, _ = open_page(browser, live_server.url, "/api/v1/abandoned-checkouts/", cookies=[merchant_cookie])
    assert "shown@example.com" in page.inner_text("body")
    assert "Abandoned Checkout List" in page.title()
    # Its scripts are static files, so they run: the filter dialog (the dashboard's filters) opens.
    page.click("button[data-target='#filtersModal']")
    page.wait_for_selector("#filtersModal input[name='q']", state="visible", timeout=5_000)
    # DRF's two inline style attributes (button alignment) are refused; no script is.
    assert not [problem for problem in problems if "script-src" in problem], problems
