"""Playwright with Debian's Chromium against pytest-django's live server.

Every page gets a recorder for Content-Security-Policy violations, console errors and
uncaught exceptions; a test fails if any was recorded. Screenshots go to
tests/browser/screenshots/ (gitignored), one per page visited, for a human to look at.
"""

import os
import random
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from checkouts.models import Membership
from checkouts.services import store_create
from config.demo import checkouts as demo

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are ordinary blocking calls, which Django otherwise refuses there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
PASSWORD = "demo-password-1"

# Reported to Python from the page as soon as the browser raises it.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  const element = event.target && event.target.outerHTML ? event.target.outerHTML.slice(0, 120) : "";
  const sample = event.sample ? ` (${event.sample})` : "";
  const blocked = `${event.blockedURI || "inline"}${sample}`;
  window.reportProblem(`CSP ${event.violatedDirective} blocked ${blocked} at ${where} ${element}`);
});
"""


def pytest_collection_modifyitems(config, items):
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(reason=f"needs Debian's Chromium at {CHROMIUM}")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser(live_server):
    """One Chromium for the session. It asks for the live server first so that it closes
    before the server stops: its last keep-alive connections then end while the server's
    request threads may still use the shared test database connection."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield chromium
        chromium.close()


class Problems(list):
    """Everything the browser complained about. A test that opens an error page on purpose
    declares the one console line it expects (`allow("status of 404")`); nothing else passes."""

    def __init__(self):
        super().__init__()
        self.allowed: list[str] = []

    def allow(self, text: str) -> None:
        self.allowed.append(text)

    def check(self):
        unexpected = [line for line in self if not any(text in line for text in self.allowed)]
        assert not unexpected, "the browser reported problems:\n" + "\n".join(unexpected)


@pytest.fixture
def problems():
    found = Problems()
    yield found
    found.check()


@pytest.fixture
def context_factory(browser, live_server, problems):
    """New browser contexts (width, JavaScript on/off) whose pages report every problem."""
    contexts = []

    def make(*, width: int = 1366, height: int = 900, javascript: bool = True):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": width, "height": height},
            java_script_enabled=javascript,
            accept_downloads=True,
            locale="en-US",
            timezone_id="America/New_York",
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        context.expose_binding("reportProblem", lambda source, text: problems.append(text))
        context.add_init_script(CSP_LISTENER)

        def watch(page):
            page.on(
                "console",
                lambda m: (
                    problems.append(f"console {m.type} on {page.url}: {m.text[:160]}") if m.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

        context.on("page", watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(context_factory):
    return context_factory().new_page()


@pytest.fixture
def shoot():
    """shoot(page, "name") → a full-page PNG in tests/browser/screenshots/."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page, name: str):
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def demo_store(settings, live_server):
    """A store like the demo's: months of realistic checkouts, images served by the live server."""
    settings.COMEBACK_PUBLIC_URL = live_server.url
    store = store_create(
        name="Northwind Outfitters",
        currency="USD",
        language="en",
        time_zone="America/New_York",
        storefront_url="https://northwind.shop.example.com",
    )
    demo.generate(store, count=900, rnd=random.Random(2026), now=timezone.now(), automation_history=True)
    return store


@pytest.fixture
def demo_user(demo_store):
    user = get_user_model().objects.create_user("demo", "demo@example.com", PASSWORD)
    Membership.objects.create(user=user, store=demo_store, role=Membership.Role.OWNER)
    return user


def log_in(page, username: str = "demo", password: str = PASSWORD):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
