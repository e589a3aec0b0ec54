"""Every dashboard page in Chromium, at desktop and phone width: no console error, no CSP
violation, and at 390 px nothing scrolls sideways. The pages come from tests/crawl.py."""

import pytest

from tests.crawl import Site

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize("width", [1366, 390])
def test_every_page_renders_cleanly_at_desktop_and_phone_width(context_factory, shoot, settings, live_server, width):
    settings.COMEBACK_PUBLIC_URL = live_server.url
    site = Site.build(count=30)
    page = context_factory(width=width, height=844).new_page()
    log_in(page, "crawl-owner", "pw-crawl-1")
    too_wide = []
    for url in site.pages():
        if "/invitations/" in url or url.startswith("/accounts/login"):
            continue  # signed-in pages only; the public ones have tests of their own
        response = page.goto(url)
        assert response.status < 400, f"{response.status} {url}"
        if width < 500 and not page.evaluate(FITS):
            too_wide.append(url)
            shoot(page, f"crawl-too-wide-{len(too_wide)}")
    assert not too_wide, f"these pages scroll sideways at {width}px: {too_wide}"
