"""Automations in a real browser (Debian's Chromium through Playwright): create an automation
with two steps, and work the task list. Screenshots go to tests/browser/screenshots/."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from automations.models import Automation, Task
from checkouts.models import Membership
from tests.factories import AbandonedCheckoutFactory, MembershipFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).parent / "screenshots"


def signed_in_page(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    errors = []
    # Script errors and failed requests (a favicon is not ours to serve) fail the test.
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 and "favicon" not in r.url else None,
    )
    return page, errors


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_creating_an_automation_with_two_steps(browser, live_server):
    store = StoreFactory(name="Northwind")
    owner = MembershipFactory(store=store, user=UserFactory(username="olivia")).user
    MembershipFactory(store=store, role=Membership.Role.MANAGER, user=UserFactory(username="sam"))
    page, errors = signed_in_page(browser, live_server, owner)

    page.goto(f"{live_server.url}/automations/new/")
    page.get_by_label("Name").fill("Win back big carts")
    page.get_by_label("Minimum cart total").fill("150")
    page.get_by_label("Holdout share (%)").fill("10")
    first = page.locator("[data-step]").nth(0)
    first.get_by_label("Wait").fill("30")
    first.get_by_label("Unit").select_option("MINUTES")
    # The blank step starts with the default email's words; only the email fields show.
    assert "{{ first_name" in first.get_by_label("Subject", exact=True).input_value()
    assert first.get_by_label("Task title").is_hidden()

    page.get_by_role("button", name="Add a step").click()
    second = page.locator("[data-step]").nth(1)
    second.get_by_label("Wait").fill("1")
    second.get_by_label("Unit").select_option("DAYS")
    second.get_by_label("Action").select_option("CREATE_TASK")
    assert second.get_by_label("Subject", exact=True).is_hidden()
    second.get_by_label("Task title").fill("Call the buyer")
    second.get_by_label("Assign the task to").select_option(label="sam")
    shoot(page, "automation-form-two-steps")

    page.get_by_role("button", name="Save automation").click()
    page.wait_for_url("**/automations/*/")
    assert page.get_by_role("heading", name="Win back big carts").is_visible()
    steps = page.locator("ol li")
    assert steps.nth(0).inner_text().startswith("Email the buyer 30 minutes after abandonment")
    assert steps.nth(1).inner_text().startswith("Create a follow-up task 1 day after abandonment")
    assert "Call the buyer" in steps.nth(1).inner_text() and "for sam" in steps.nth(1).inner_text()
    shoot(page, "automation-detail")

    # The first step's email, previewed (no checkout yet: a made-up buyer) in a sandboxed frame.
    page.get_by_role("link", name="Preview").click()
    frame = page.frame_locator("iframe.email-frame")
    assert frame.get_by_role("link", name="Complete your order").is_visible()
    assert "Trail Backpack" in frame.locator("body").inner_text()
    shoot(page, "automation-preview")

    automation = Automation.objects.get(name="Win back big carts")
    assert [(s.position, s.action) for s in automation.steps.order_by("position")] == [
        (1, "EMAIL_BUYER"),
        (2, "CREATE_TASK"),
    ]
    assert errors == []


def test_working_the_task_list(browser, live_server):
    store = StoreFactory(name="Northwind")
    owner = MembershipFactory(store=store, user=UserFactory(username="olivia")).user
    for index, title in enumerate(["Call Ada about her jacket", "Check the boots are in stock"]):
        Task.objects.create(
            store=store,
            abandoned_checkout=AbandonedCheckoutFactory(store=store, first_name="Ada", last_name="Lovelace"),
            title=title,
            assignee=owner if index == 0 else None,
            due_at=timezone.now() + timedelta(days=index + 1),
        )
    page, errors = signed_in_page(browser, live_server, owner)

    page.goto(f"{live_server.url}/tasks/")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    shoot(page, "tasks-open")
    page.get_by_role("link", name="Mine").click()
    assert page.locator("tbody tr").count() == 1
    page.get_by_role("button", name="Mark done").click()
    page.wait_for_load_state()
    assert "is done" in page.content()
    page.get_by_role("link", name="Done").click()
    assert page.locator("tbody tr").inner_text().startswith("Call Ada about her jacket")
    shoot(page, "tasks-done")
    page.get_by_role("link", name="Open", exact=True).click()
    assert page.locator("tbody tr").count() == 1
    assert Task.objects.get(title="Call Ada about her jacket").done_at is not None
    assert errors == []
