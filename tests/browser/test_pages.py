"""Every dashboard page in a real browser: it renders without a CSP violation or console
error, it works with the keyboard and without JavaScript, and a screenshot is kept of it."""

import re

import pytest
from django.contrib.auth import get_user_model

from checkouts.models import AbandonedCheckout, BulkJob, Membership
from checkouts.services import store_create

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def row_ids(page) -> list[str]:
    return page.locator("input[name='ids']").evaluate_all("boxes => boxes.map(b => b.value)")


def test_overview_periods_and_list_pages(page, shoot, demo_user, demo_store):
    log_in(page)
    page.get_by_role("link", name="Last 90 days").click()
    page.wait_for_url("**/?period=90d")
    page.wait_for_function("() => document.querySelector('#daily-chart')?.getAttribute('width')")
    shoot(page, "10-overview-90-days")
    page.get_by_label("From", exact=True).fill("2026-11-01")
    page.get_by_label("To", exact=True).fill("2026-11-07")
    page.get_by_role("button", name="Show range").click()
    page.wait_for_url(re.compile(r"period=custom&start=2026-11-01&end=2026-11-07"))
    assert "Nov 1, 2026 – Nov 7, 2026" in page.locator(".page-header").inner_text()
    shoot(page, "11-overview-custom-range")

    page.get_by_role("link", name="See them →").click()
    page.wait_for_url(re.compile(r"/checkouts/\?created_after=2026-11-01&created_before=2026-11-07"))
    page.goto("/checkouts/?per_page=25")
    first = row_ids(page)
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url(re.compile(r"after="))
    second = row_ids(page)
    assert len(first) == len(second) == 25 and not set(first) & set(second)
    shoot(page, "12-list-page-2")
    page.get_by_role("link", name="← Previous").click()
    page.wait_for_url(re.compile(r"before="))
    assert row_ids(page) == first
    with page.expect_event("load"):  # Back reloads page 2 from the server (no snapshots kept)
        page.go_back()
    assert "after=" in page.url and row_ids(page) == second

    page.goto("/checkouts/?sort=-total&per_page=25")
    totals = page.locator("td.num").all_inner_texts()
    amounts = [float(text.replace("$", "").replace(",", "")) for text in totals]
    assert amounts == sorted(amounts, reverse=True)


def test_bulk_delete_with_confirmation_and_progress(page, shoot, demo_user, demo_store):
    log_in(page)
    page.goto("/checkouts/?per_page=25")
    delete = page.get_by_role("button", name="Delete selected")
    assert delete.is_disabled()
    boxes = page.locator("input[name='ids']")
    chosen = [boxes.nth(0).get_attribute("value"), boxes.nth(1).get_attribute("value")]
    boxes.nth(0).check()
    boxes.nth(1).check()
    assert page.get_by_text("2 selected").is_visible() and delete.is_enabled()
    shoot(page, "13-list-selection")

    delete.click()
    page.wait_for_url("**/checkouts/bulk/delete/")
    assert page.get_by_role("heading", name="Delete 2 abandoned checkouts?").is_visible()
    shoot(page, "14-bulk-delete-confirm")
    page.get_by_role("button", name="Delete 2 checkouts").click()
    page.wait_for_url(re.compile(r"/checkouts/bulk/[0-9a-f-]{36}/$"))
    page.get_by_text("2 of 2 done (100%)").wait_for()
    shoot(page, "15-bulk-job-done")
    assert not AbandonedCheckout.objects.filter(pk__in=chosen).exists()
    assert BulkJob.objects.get().state == BulkJob.State.DONE

    page.goto("/checkouts/?per_page=25")
    page.locator("input[data-select-all]").check()
    assert page.get_by_text("25 selected").is_visible()


def test_detail_confirmations_settings_members_and_api_keys(page, shoot, demo_user, demo_store):
    ac = AbandonedCheckout.objects.filter(store=demo_store).order_by("-created_at").first()
    log_in(page)
    page.goto(f"/checkouts/{ac.pk}/")
    page.get_by_role("link", name="Anonymise buyer…").click()
    assert page.get_by_role("heading", name="Anonymise this buyer?").is_visible()
    shoot(page, "20-anonymise-confirm")
    page.get_by_role("button", name="Anonymise buyer").click()
    page.get_by_text("The buyer's personal data was erased.").wait_for()
    shoot(page, "21-detail-anonymised")
    page.get_by_role("link", name="Delete…").click()
    shoot(page, "22-delete-confirm")
    page.get_by_role("button", name="Delete checkout").click()
    page.wait_for_url("**/checkouts/")
    assert page.get_by_text("Deleted the abandoned checkout").is_visible()

    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_label("Abandoned after (minutes idle)").fill("45")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Store settings saved.").wait_for()
    shoot(page, "23-settings-store")
    demo_store.refresh_from_db()
    assert demo_store.abandon_after.total_seconds() == 45 * 60

    get_user_model().objects.create_user("sam", "sam@example.com", "pw-sam-12345")
    page.get_by_role("link", name="Members").click()
    page.get_by_label("Email").fill("sam@example.com")
    page.get_by_label("Role", exact=True).select_option(label="Manager")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Invitation sent to sam@example.com.").wait_for()
    shoot(page, "24-settings-members")
    # Invited, not added: sam joins by opening the link (tests/browser/test_journeys.py walks it).
    assert not Membership.objects.filter(user__username="sam").exists()
    assert page.get_by_text("Pending invitations").is_visible()

    page.get_by_role("link", name="API keys").click()
    shoot(page, "25-settings-api-keys-empty")
    page.get_by_label("Name").fill("Storefront sync")
    page.get_by_label("Ingest checkout events").check()
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-secret").input_value()
    assert secret.startswith("cbk_")
    page.get_by_role("button", name="Copy key").click()
    page.get_by_role("button", name="Copied!").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shoot(page, "26-settings-api-key-created")
    page.goto("/settings/api-keys/")
    assert secret not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text("Revoked the key").wait_for()
    shoot(page, "27-settings-api-key-revoked")

    page.get_by_role("link", name="Change password").click()
    shoot(page, "28-password-change")


def test_a_viewer_browses_and_copies_but_cannot_manage(context_factory, problems, shoot, demo_store):
    get_user_model().objects.create_user("viv", "viv@example.com", PASSWORD)
    Membership.objects.create(user=get_user_model().objects.get(username="viv"), store=demo_store, role="VIEWER")
    page = context_factory().new_page()
    log_in(page, "viv")
    page.goto("/checkouts/")
    assert page.locator("input[name='ids']").count() == 0
    assert page.get_by_role("link", name=re.compile("Export")).count() == 0
    page.get_by_role("button", name="Copy link").first.click()
    page.get_by_role("button", name="Copied!").wait_for()
    assert page.evaluate("navigator.clipboard.readText()").startswith("http")
    shoot(page, "30-viewer-list")
    assert page.get_by_role("link", name="Members").count() == 0

    problems.allow("status of 403")
    page.goto("/settings/members/")
    assert page.get_by_role("heading", name="You can't do that here").is_visible()
    shoot(page, "31-error-403")
    problems.allow("status of 404")
    page.goto("/checkouts/00000000-0000-0000-0000-000000000000/")
    assert page.get_by_role("heading", name="We can't find that page").is_visible()
    shoot(page, "32-error-404")


def test_sign_in_pages_and_a_new_merchants_empty_states(page, shoot, mailoutbox):
    user = get_user_model().objects.create_user("newbie", "newbie@example.com", PASSWORD)
    store_create(name="Fresh Store", owner=user)
    page.goto("/")
    page.wait_for_url("**/accounts/login/?next=/")
    shoot(page, "40-login")
    page.get_by_label("Username").fill("newbie")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").is_visible()
    shoot(page, "41-login-error")

    page.get_by_role("link", name="Forgot your password?").click()
    shoot(page, "42-password-reset")
    page.get_by_label("Email").fill("newbie@example.com")
    page.get_by_role("button", name="Send the link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    shoot(page, "43-password-reset-sent")
    assert len(mailoutbox) == 1

    log_in(page, "newbie")
    assert page.get_by_role("heading", name="No abandoned checkouts yet").is_visible()
    shoot(page, "44-overview-empty-store")
    page.get_by_role("link", name="Checkouts", exact=True).click()
    assert page.get_by_role("link", name="Create an API key").is_visible()
    shoot(page, "45-list-empty-store")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")


def test_keyboard_only_filtering(page, demo_user, demo_store):
    log_in(page)
    page.goto("/checkouts/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.get_by_label("Search").focus()
    page.keyboard.type("liam")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=liam"))
    names = page.locator("a.buyer-link").all_inner_texts()
    assert names and all("Liam" in name for name in names)


def test_small_screens(context_factory, shoot, demo_user, demo_store):
    page = context_factory(width=390, height=844).new_page()
    fits = "() => document.documentElement.scrollWidth <= window.innerWidth"
    log_in(page)
    assert page.evaluate(fits)
    shoot(page, "50-mobile-overview")
    page.goto("/checkouts/?per_page=25")
    assert page.evaluate(fits)  # the table scrolls inside its card, the page does not
    shoot(page, "51-mobile-list")
    page.locator("a.buyer-link").first.click()
    page.wait_for_url(re.compile(r"/checkouts/[0-9a-f-]{36}/$"))
    assert page.evaluate(fits)
    shoot(page, "52-mobile-detail")
    page.goto("/settings/members/")
    assert page.evaluate(fits)
    # The navigation is a menu: folded away until asked for, then every entry within reach.
    assert not page.get_by_role("button", name="Log out").is_visible()
    page.get_by_role("button", name="Menu").click()
    shoot(page, "53-mobile-menu")
    for name in ("Overview", "Checkouts", "Automations", "Tasks", "Sent emails", "Settings"):
        assert page.get_by_role("navigation", name="Main").get_by_role("link", name=name).is_visible()
    assert page.get_by_role("button", name="Log out").is_visible() and page.evaluate(fits)
    page.get_by_role("button", name="Close").click()
    assert not page.get_by_role("button", name="Log out").is_visible()
    shoot(page, "54-mobile-members")


def test_filters_and_pages_work_without_javascript(context_factory, shoot, demo_user, demo_store):
    page = context_factory(javascript=False).new_page()
    log_in(page)
    page.goto("/checkouts/")
    page.get_by_label("Total from").fill("100")
    page.get_by_label("Abandoned", exact=True).select_option(label="Last 30 days")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"total_min=100.*period=30d|period=30d.*total_min=100"))
    first = row_ids(page)
    shoot(page, "60-no-js-filtered")
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url(re.compile(r"after="))
    assert row_ids(page) and not set(row_ids(page)) & set(first)
    assert "total_min=100" in page.url
