"""Hostile input is harmless: a checkout whose every string is markup, ingested through the real
API, shows escaped on every page, email and export that can show it.

The pages are the URL patterns themselves: a route nobody declared below fails
`test_every_route_is_declared`, so a new page cannot go uncovered.
"""

import csv
import io
from collections.abc import Callable

import pytest
import time_machine
from django.contrib import admin
from django.core.cache import cache
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from automations.messages.render import unsubscribe_url
from automations.models import Notification, SentEmail, Task
from checkouts.services import abandoned_checkout_recover, api_key_create, invitation_create
from checkouts.services.invitations import invitation_token
from tests.checkouts.helpers import at

from .hostile import ESCAPED, META, UNESCAPED, World, build_world, script

pytestmark = pytest.mark.django_db

Path = Callable[[World], str]


def pk_url(name: str, attr: str) -> Path:
    return lambda w: reverse(name, args=[getattr(w, attr).pk])


def first_pk_url(name: str, model) -> Path:
    return lambda w: reverse(name, args=[w.first(model).pk])


# GET pages of the signed-in dashboard (name → its address for the world).
DASHBOARD = {
    "checkouts:overview": lambda w: "/?period=90d",
    "checkouts:list": lambda w: "/checkouts/",
    "checkouts:detail": pk_url("checkouts:detail", "checkout"),
    "checkouts:delete": pk_url("checkouts:delete", "checkout"),
    "checkouts:anonymise": pk_url("checkouts:anonymise", "checkout"),
    "checkouts:bulk_job": lambda w: reverse("checkouts:bulk_job", args=[w.bulk_job.pk]),
    "checkouts:settings": lambda w: "/settings/",
    "checkouts:members": lambda w: "/settings/members/",
    "checkouts:api_keys": lambda w: "/settings/api-keys/",
    "checkouts:privacy": lambda w: "/settings/privacy/",
    "checkouts:password_change": lambda w: reverse("checkouts:password_change"),
    "checkouts:password_change_done": lambda w: reverse("checkouts:password_change_done"),
    "automations:list": lambda w: "/automations/",
    "automations:create": lambda w: "/automations/new/",
    "automations:detail": pk_url("automations:detail", "automation"),
    "automations:edit": pk_url("automations:edit", "automation"),
    # The offer and the codes handed out (the world's pool holds markup codes).
    "automations:discount": pk_url("automations:discount", "automation"),
    "automations:preview": lambda w: f"/automations/{w.automation.pk}/preview/?checkout={w.checkout.pk}",
    "automations:translations": lambda w: reverse(
        "automations:translations", args=[w.automation.pk, w.automation.steps.order_by("position")[0].pk]
    ),
    "automations:contact_policy": lambda w: "/automations/contact-rules/",
    "automations:tasks": lambda w: "/tasks/?show=all",
    "automations:notifications": lambda w: "/notifications/",
    "automations:emails": lambda w: "/emails/",
    "automations:email_detail": first_pk_url("automations:email_detail", SentEmail),
    "automations:recovery_email": pk_url("automations:recovery_email", "checkout"),
    "webhooks:list": lambda w: reverse("webhooks:list"),
    "webhooks:create": lambda w: reverse("webhooks:create"),
    "webhooks:detail": pk_url("webhooks:detail", "endpoint"),
    "webhooks:update": pk_url("webhooks:update", "endpoint"),
    "webhooks:delete": pk_url("webhooks:delete", "endpoint"),
    "connections:list": lambda w: reverse("connections:list"),
    "connections:create": lambda w: reverse("connections:create", args=["shopify"]),
    "connections:detail": pk_url("connections:detail", "connection"),
    "connections:delete": pk_url("connections:delete", "connection"),
    "connections:edit": pk_url("connections:edit", "connection"),
}
# The email itself, served alone into a sandboxed frame.
EMAIL_DOCUMENTS = {
    "automations:preview_html": lambda w: f"/automations/{w.automation.pk}/preview/html/?checkout={w.checkout.pk}",
    "automations:email_html": first_pk_url("automations:email_html", SentEmail),
    "automations:recovery_email_html": pk_url("automations:recovery_email_html", "checkout"),
}
# Public pages: the buyer's unsubscribe page shows the store and the address.
PUBLIC = {
    "automations:unsubscribe": lambda w: unsubscribe_url(store_id=w.store.pk, email=w.checkout.buyer_email),
    # The invitation shows the store's and the inviter's names to whoever holds the link.
    "checkouts:invitation": lambda w: reverse(
        "checkouts:invitation",
        args=[
            invitation_token(
                invitation_create(store=w.store, email="new@example.com", role="VIEWER", invited_by=w.owner)[0]
            )
        ],
    ),
}
# Public pages that show no stored data at all (still scanned).
PUBLIC_WITHOUT_DATA = {
    "checkouts:login": lambda w: "/accounts/login/",
    "checkouts:password_reset": lambda w: "/accounts/password/reset/",
    "checkouts:password_reset_done": lambda w: "/accounts/password/reset/sent/",
    "checkouts:password_reset_confirm": lambda w: "/accounts/password/reset/MQ/set-password/",
    "checkouts:password_reset_complete": lambda w: "/accounts/password/reset/complete/",
    "api-docs": lambda w: "/api/docs/",
}
# POSTs whose answer is a redirect; followed, the next page (with its flash message) is scanned.
ACTIONS = {
    "automations:recovery_email_bulk": lambda w: (
        "/checkouts/bulk/recovery-email/",
        {"ids": [w.checkout.pk], "next": "/checkouts/"},
    ),
    "automations:task_done": lambda w: (reverse("automations:task_done", args=[w.first(Task).pk]), {}),
    "automations:task_assign": lambda w: (
        reverse("automations:task_assign", args=[w.first(Task).pk]),
        {"assignee": w.staff_member.pk},
    ),
    "automations:notifications_read": lambda w: ("/notifications/read/", {}),
    "automations:notification_open": lambda w: (
        reverse("automations:notification_open", args=[Notification.objects.filter(store=w.store).first().pk]),
        None,  # a GET that redirects to the checkout
    ),
    "automations:test_email": lambda w: (reverse("automations:test_email", args=[w.automation.pk]), {}),
    "automations:active": lambda w: (reverse("automations:active", args=[w.automation.pk]), {"active": "on"}),
    "webhooks:rotate-secret": lambda w: (reverse("webhooks:rotate-secret", args=[w.endpoint.pk]), {}),
    "checkouts:export": lambda w: ("/checkouts/export.csv", {"ids": [w.checkout.pk]}),
    "connections:test": lambda w: (reverse("connections:test", args=[w.connection.pk]), {}),
    "connections:pause": lambda w: (reverse("connections:pause", args=[w.connection.pk]), {}),
    "connections:resume": lambda w: (reverse("connections:resume", args=[w.connection.pk]), {}),
    "connections:rotate": lambda w: (reverse("connections:rotate", args=[w.connection.pk]), {}),
    # The bulk confirmation names the selected buyers and frames the email that would go out.
    "checkouts:bulk_confirm": lambda w: (
        "/checkouts/bulk/confirm/",
        {"ids": [w.checkout.pk], "action": "automations:recovery_email_bulk", "back": "/checkouts/"},
    ),
}
# Not pages: JSON APIs (JSON-encoded, served as application/json with nosniff, checked below),
# probes, and actions that only destroy, sign out or talk to another server.
NOT_PAGES = {
    "healthz": "probe",
    "readyz": "probe",
    "wix-query": "JSON API",
    "wix-search": "JSON API",
    "wix-analytics": "JSON API",
    "wix-bulk-delete": "JSON API",
    "wix-abandoned-checkout": "JSON API",
    "api-abandoned-checkouts": "JSON API",
    "api-abandoned-checkout": "JSON API",
    "api-buyers-erase": "JSON API",
    "api-checkout-events": "JSON API: the ingest used to build the world",
    "api-legacy-cart-abandoned": "JSON API",
    "api-legacy-cart-recovered": "JSON API",
    "api-not-found": "Wix's JSON 404 for any other path under /ecom/ and /oauth2/",
    "connect-wix-webhook": "JSON API: Wix's signed webhooks, nothing rendered",
    "automations:text_opt_out": "JSON API: the SMS gateway reports STOP replies (token-checked), nothing rendered",
    "automations:open_pixel": "the open pixel: the same 1x1 GIF for any token, nothing stored shown",
    "oauth2-token": "JSON API: client credentials in, a signed token out, no stored data",
    "api-schema": "the OpenAPI document: no stored data",
    "wix-redirect": "the recovery link: a 302, and its landing pages (tested below)",
    "checkouts:logout": "signs out",
    "checkouts:store_switch": "a redirect",
    "checkouts:bulk_delete": "destroys (its job page is covered)",
    "checkouts:bulk_anonymise": "destroys (its job page is covered)",
    "checkouts:member_change": "a redirect to the members page (covered)",
    "checkouts:member_remove": "destroys",
    "checkouts:api_key_revoke": "destroys",
    "checkouts:invitation_revoke": "destroys",
    "favicon.ico": "a redirect to a static file",
    "webhooks:test": "talks to the endpoint's server",
    "webhooks:redeliver-failed": "talks to the endpoint's server",
    "webhooks:redeliver": "talks to the endpoint's server",
    "connections:backfill": "talks to the platform's server",
    "connect:shopify": "a platform's webhook receiver: JSON in, JSON out",
    "connect:saleor": "a platform's webhook receiver: JSON in, JSON out",
    "connect:browser": "comeback.js's beacon endpoint: JSON in, JSON out",
}
GROUPS = (DASHBOARD, EMAIL_DOCUMENTS, PUBLIC, PUBLIC_WITHOUT_DATA, ACTIONS, NOT_PAGES)


def route_names(patterns=None, namespace: str = "") -> set[str]:
    names = set()
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue  # walked through its own registry below
            prefix = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= route_names(pattern.url_patterns, prefix)
        else:
            names.add(f"{namespace}{pattern.name or pattern.pattern}")
    return names


def test_every_route_is_declared():
    declared = [name for group in GROUPS for name in group]
    assert len(declared) == len(set(declared)), "a route is declared twice"
    assert route_names() == set(declared)


def leaks(body: str) -> list[str]:
    """Each unescaped payload with some context, for a readable failure."""
    return [body[max(0, m.start() - 60) : m.end() + 20] for m in UNESCAPED.finditer(body)]


@pytest.fixture
def world():
    cache.clear()  # rate-limit windows: the world's ingest and pages start with none
    with time_machine.travel(at(0), tick=False) as traveller:
        yield build_world(traveller)


@pytest.fixture
def owner(world):
    client = Client()
    client.force_login(world.owner)
    return client


def html(response) -> str:
    assert response["Content-Type"].startswith("text/html"), response["Content-Type"]
    return response.content.decode()


def test_every_dashboard_page_shows_the_hostile_data_escaped(world, owner):
    found = {}
    for name, path in {**DASHBOARD, **EMAIL_DOCUMENTS}.items():
        response = owner.get(path(world))
        assert response.status_code == 200, (name, response.status_code)
        found[name] = (leaks(html(response)), bool(ESCAPED.search(response.content.decode())))
    assert {name: leaked for name, (leaked, _) in found.items() if leaked} == {}
    # Each page did show hostile data (escaped): none of them passes by showing nothing.
    assert [name for name, (_, shown) in found.items() if not shown] == []


def test_buyer_data_reaches_the_pages_that_show_it(world, owner):
    """The buyer's and the merchant's fields themselves were rendered (escaped), not only the store name."""
    shown = {
        "/?period=90d": (13,),  # the most abandoned product
        "/checkouts/": (7, 8, 14),  # name, product
        f"/checkouts/{world.checkout.pk}/": (7, 9, 10, 14, 21, 24, 26, 29, 31, 33, 38),  # + phone, company,
        # options, colour, image, SKU, coupon, discount rule
        "/emails/": (7, 52),  # the subject
        "/tasks/?show=all": (45, 59),  # the assignee, the title
        "/notifications/": (),
        f"/automations/{world.automation.pk}/": (50,),
    }
    for path, numbers in shown.items():
        body = owner.get(path).content.decode()
        for n in numbers:
            assert f"alert({n})" in body, f"payload {n} is not on {path}"
    buyer = "&lt;meta http-equiv=refresh content=&quot;0;url=https://phish.example&quot;&gt;"
    confirm = owner.get(f"/checkouts/{world.checkout.pk}/recovery-email/").content.decode()
    assert buyer + " " + "&lt;script&gt;alert(7)" in confirm  # the plain-text version of the email, escaped


def test_public_pages_show_the_hostile_data_escaped(world):
    anonymous = Client()
    for name, path in {**PUBLIC, **PUBLIC_WITHOUT_DATA}.items():
        response = anonymous.get(path(world))
        assert response.status_code == 200, (name, response.status_code)
        assert leaks(html(response)) == [], name
    unsubscribe = anonymous.get(PUBLIC["automations:unsubscribe"](world)).content.decode()
    assert ESCAPED.search(unsubscribe)


def test_actions_lead_to_pages_with_the_hostile_data_escaped(world, owner):
    for name, action in ACTIONS.items():
        path, data = action(world)
        response = owner.get(path, follow=True) if data is None else owner.post(path, data, follow=True)
        assert response.status_code == 200, (name, response.status_code)
        if name == "checkouts:export":
            continue
        assert leaks(html(response)) == [], name


def test_the_csv_export_neutralises_formulas_and_keeps_the_text(world, owner):
    response = owner.get("/checkouts/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert any(META in cell for cell in cells), "the buyer's name is exported as it is"
    assert [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")] == []


def test_the_admin_change_pages_show_the_hostile_data_escaped(world, owner):
    checked = 0
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = owner.get(changelist)
        assert response.status_code == 200, changelist
        assert leaks(html(response)) == [], changelist
        for obj in model_admin.get_queryset(owner.get(changelist).wsgi_request)[:3]:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            response = owner.get(change)
            assert response.status_code == 200, change
            assert leaks(html(response)) == [], change
            checked += 1
    assert checked > 10


def test_the_emails_and_texts_sent_escape_html_and_keep_text_plain(world):
    emails = world.emails
    # The manual recovery email, the automation's, and the staff notification email.
    assert len(emails) >= 3
    for message in emails:
        assert "\n" not in message.subject
        for content, mimetype in getattr(message, "alternatives", []):
            assert mimetype == "text/html"
            assert leaks(content) == [], message.subject
        # Plain text is text: the buyer's name stands as written, not as `&lt;` entities.
        assert "&lt;" not in message.body and "&quot;" not in message.body
    recovery = [m for m in emails if m.alternatives]
    for message in recovery:
        # The store's name is the From display name: quoted in the header, and read back whole.
        parsed = message.message()
        assert parsed["From"].addresses[0].display_name == world.store.name
        assert parsed["To"].addresses[0].addr_spec == world.checkout.buyer_email
    assert recovery and all(ESCAPED.search(m.alternatives[0][0]) for m in recovery)
    assert all(META in m.body for m in recovery)
    # The code from the world's markup pool: the same one in every email and the text, raw in
    # plain text, escaped in HTML.
    assert all(script(160) in m.body for m in recovery)
    assert all("&lt;script&gt;alert(160)&lt;/script&gt;" in m.alternatives[0][0] for m in recovery)
    for sent in SentEmail.objects.filter(store=world.store).exclude(html_body=""):
        assert leaks(sent.html_body) == [] and ESCAPED.search(sent.html_body)
    (text,) = world.texts
    assert META in text.body and "&lt;" not in text.body and script(160) in text.body


def test_the_recovery_link_and_its_landing_pages_are_harmless(world):
    anonymous = Client()
    link = f"/ecom/v1/abandoned-checkout/{world.checkout.pk}/redirect-to-checkout?metasiteId={world.store.pk}"
    response = anonymous.get(link)
    assert response.status_code == 302
    assert '"' not in response["Location"] and "<" not in response["Location"]
    abandoned_checkout_recover(abandoned_checkout_id=world.checkout.pk, order_id="o-1")
    landing = anonymous.get(link)
    assert landing.status_code == 200
    body = html(landing)
    assert leaks(body) == [] and ESCAPED.search(body)


def strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [text for item in value for text in strings(item)] if isinstance(value, list) else []


def test_the_json_apis_are_served_as_json(world):
    """The APIs return the buyer's text as it is, as JSON a browser will not render as a page."""
    _, raw = api_key_create(store=world.store, name="reader", scopes=["read"])
    api = Client(headers={"Authorization": raw})
    for path in (
        "/api/v1/abandoned-checkouts/",
        f"/api/v1/abandoned-checkouts/{world.checkout.pk}/",
        f"/ecom/v1/abandoned-checkout/{world.checkout.pk}",
    ):
        response = api.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"].startswith("application/json"), path
        assert response["X-Content-Type-Options"] == "nosniff"
        assert META in strings(response.json()), path
