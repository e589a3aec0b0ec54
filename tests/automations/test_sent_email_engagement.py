"""The sent-email pages show what each buyer did with an email: its A/B variant, its first open
(where it carried the pixel) and its clicks, the list at one query per page whatever its length."""

import re
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automations import selectors
from automations.messages.render import OPEN_PIXEL_PATTERN, without_open_pixel
from automations.models import ContactPolicy, SentEmail
from tests.automations.helpers import abandon, after, dispatch_at, email_step, only_automation
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
LINK = re.compile(r"http://127\.0\.0\.1:8000(/ecom/v1/abandoned-checkout/[^\s\"<>]+)")
PIXEL = re.compile(r"http://127\.0\.0\.1:8000(/open/[^\s\"<>]+\.gif)")
ROW = re.compile(r'<tr data-email="(\d+)">(.*?)</tr>', re.S)
CELL = re.compile(r'<td data-col="(\w+)">(.*?)</td>', re.S)


@pytest.fixture
def store():
    store = StoreFactory(name="Acme")
    ContactPolicy.objects.create(store=store, window_hours=0, quiet_hours=False)
    return store


@pytest.fixture
def merchant(owner):
    client = Client()
    client.force_login(owner)
    return client


def buyer(n: int) -> Client:
    return Client(headers={"user-agent": FIREFOX}, REMOTE_ADDR=f"203.0.113.{n}")


def opened(email: SentEmail, n: int) -> None:
    (pixel,) = PIXEL.findall(email.html_body)
    assert buyer(n).get(pixel).status_code == 200


def clicked(email: SentEmail, n: int) -> None:
    (link,) = set(LINK.findall(email.text_body))
    assert buyer(n).get(link.replace("&amp;", "&")).status_code == 302


def rows(html: str) -> dict[int, dict[str, str]]:
    """{email id: {column: the cell's text}} of the sent-emails table."""
    text = lambda cell: re.sub(r"<[^>]+>", "", cell).strip()  # noqa: E731
    return {int(pk): {col: text(cell) for col, cell in CELL.findall(row)} for pk, row in ROW.findall(html)}


def automation_emails(store) -> list[SentEmail]:
    return list(SentEmail.objects.filter(store=store, kind=SentEmail.Kind.AUTOMATION).order_by("id"))


def test_the_list_shows_each_emails_variant_open_and_click_in_one_query_per_page(store, merchant):
    tracked = only_automation(store, name="Tracked", track_opens=True)
    email_step(tracked, subject="A: come back", body="Words A", subject_b="B: come back", body_b="Words B")
    abandon(store, 3)
    dispatch_at(after(hours=1))
    first = automation_emails(store)
    opened(first[0], 1)
    clicked(first[1], 2)
    merchant.get("/emails/")  # the session and the store are cached from here on
    with CaptureQueriesContext(connection) as few:
        page = merchant.get("/emails/")
    shown = rows(page.content.decode())
    assert len(shown) == 3
    for email in first:
        email.refresh_from_db()
        row = shown[email.pk]
        assert row["variant"] == email.variant and email.variant in ("A", "B")
        local = email.opened_at and timezone.localtime(email.opened_at, ZoneInfo(store.time_zone))
        assert row["opened"] == (f"{local:%Y-%m-%d %H:%M}" if local else "Not yet")
    assert [shown[e.pk]["clicked"] for e in first] == ["No", "Clicked", "No"]
    assert first[0].opened_at is not None and first[1].opened_at is None

    # Nine more emails, opened and clicked here and there: the page costs the same queries.
    abandon(store, 9, when=after(hours=2))
    dispatch_at(after(hours=3))
    more = automation_emails(store)[3:]
    for n, email in enumerate(more[::2], start=10):
        opened(email, n)
        clicked(email, n + 50)
    with CaptureQueriesContext(connection) as many:
        page = merchant.get("/emails/")
    shown = rows(page.content.decode())
    assert len(shown) == 12
    assert [shown[e.pk]["clicked"] for e in more] == ["Clicked", "No"] * 4 + ["Clicked"]
    assert all(shown[e.pk]["opened"] != "Not yet" for e in more[::2])
    assert len(many.captured_queries) == len(few.captured_queries)


def test_an_email_sent_without_the_pixel_says_opens_were_not_tracked(store, merchant):
    untracked = only_automation(store, name="Untracked")
    email_step(untracked)
    abandon(store)
    dispatch_at(after(hours=1))
    (email,) = automation_emails(store)
    staff = SentEmail.objects.create(
        store=store, kind="STAFF", idempotency_key="s-1", message_id="m", to_email="me@x", subject="Staff"
    )
    shown = rows(merchant.get("/emails/").content.decode())
    assert shown[email.pk] == {"variant": "", "opened": "–", "clicked": "No"}
    assert shown[staff.pk] == {"variant": "", "opened": "–", "clicked": "–"}
    detail = merchant.get(f"/emails/{email.pk}/").content.decode()
    assert "Not tracked: open tracking was off when this email was sent" in detail
    assert "A/B variant" not in detail


def test_one_email_shows_its_automation_variant_first_open_and_clicks(store, merchant):
    automation = only_automation(store, name="Win back", track_opens=True)
    step = email_step(automation, subject="A: come back", subject_b="B: come back")
    abandon(store, 2)
    dispatch_at(after(hours=1))
    email, unopened = automation_emails(store)
    opened(email, 1)
    opened(email, 2)  # a second open changes nothing
    clicked(email, 3)
    clicked(email, 4)
    email.refresh_from_db()

    page = merchant.get(f"/emails/{email.pk}/")
    html = page.content.decode()
    assert page.context["clicks"]["count"] == 2
    assert f'<dd data-variant><span class="badge badge-info">{email.variant}</span></dd>' in html
    assert re.search(r"<dd data-opened>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", html)
    assert re.search(r"<dd data-clicked>2 clicks, first [\d: -]+, last [\d: -]+</dd>", html)
    assert f'href="/automations/{automation.pk}/">Win back</a>, step {step.position}' in html

    html = merchant.get(f"/emails/{unopened.pk}/").content.decode()
    assert "<dd data-opened>Not yet</dd>" in html and "<dd data-clicked>No</dd>" in html


@pytest.mark.parametrize(
    "html_body, carries_pixel",
    [
        ('<p>Hi</p><img src="https://shop.example/open/step-1%3Aab.gif" width="1" height="1" alt="">', True),
        ('<img src="http://127.0.0.1:8000/open/k.gif">', True),
        ('<a href="https://shop.example/open/now.gif">Open</a>', False),  # a link, not the image
        ('<img src="https://shop.example/open/a/b.gif">', False),  # not the pixel's one-segment path
        ('<img src="https://shop.example/opening.gif">', False),
        ("", False),
    ],
)
def test_the_database_finds_the_pixel_by_the_same_rule_as_the_dashboard_strips_it(store, html_body, carries_pixel):
    SentEmail.objects.create(
        store=store, kind="TEST", idempotency_key="t", message_id="m", to_email="x", subject="s", html_body=html_body
    )
    (email,) = selectors.sent_emails_with_engagement(store=store)
    assert email.open_tracked is carries_pixel
    assert (without_open_pixel(html_body) != html_body) is carries_pixel
    assert bool(re.search(OPEN_PIXEL_PATTERN, html_body)) is carries_pixel
