"""Every page, as every role, with odd query strings: never a server error.

The browser version (tests/browser/test_crawl.py) also checks the console, the CSP and the phone
width; this one is the quick, exhaustive pass over roles and query strings.
"""

import pytest
from django.test import Client

from checkouts.tenancy import SESSION_KEY

from .crawl import ODD_QUERIES, Site

pytestmark = pytest.mark.django_db

ROLES = ["OWNER", "MANAGER", "VIEWER", "STAFF", "SUPERUSER", None]


def client_for(site: Site, role: str | None) -> Client:
    client = Client(raise_request_exception=False)
    if role:
        client.force_login(site.users[role])
        session = client.session
        session[SESSION_KEY] = str(site.store.pk)
        session.save()
    return client


@pytest.fixture
def site():
    return Site.build(count=40)


def test_every_page_answers_every_role_without_a_server_error(site):
    dashboard, admin_pages = site.pages(), site.admin_pages()
    failures = []

    def crawl(client, role, urls, queries):
        for url in urls:
            for query in queries:
                response = client.get(url + query)
                if response.status_code >= 500:
                    failures.append(f"{response.status_code} {role} GET {url}{query[:80]}")

    for role in ROLES:
        client = client_for(site, role)
        # Every role opens every page; the odd query strings go to the most and the least able.
        crawl(client, role, dashboard, ["", *ODD_QUERIES] if role in ("OWNER", "VIEWER", None) else [""])
        if role in ("STAFF", "SUPERUSER"):
            # Lists and add forms read the query string; the object pages only their id.
            reads_query = [url for url in admin_pages if url.endswith(("/add/", "/admin/")) or url.count("/") == 4]
            crawl(client, role, reads_query, ODD_QUERIES)
            crawl(client, role, admin_pages, [""])
    assert not failures, "\n".join(failures)
    assert len(dashboard) > 30 and len(admin_pages) > 60  # the walk found the pages
