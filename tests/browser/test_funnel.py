"""In a real browser: build an automation with an A/B email step (open tracking on) and an SMS
step, preview both variants in French and Japanese with no English left in the layout, let
buyers get, open and click the emails, one of them order, and read the funnel on the page."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from automations.dispatcher import scheduled_steps_dispatch
from automations.models import Automation, AutomationStep, ContactPolicy, SentEmail
from automations.services import automations_schedule
from checkouts.models import AbandonedCheckout
from checkouts.services import abandoned_checkout_recover
from tests.browser.test_automations import shoot, signed_in_page
from tests.browser.test_i18n import layout_words
from tests.checkouts.views.conftest import line_item
from tests.factories import AbandonedCheckoutFactory, MembershipFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _english_left(shown: str, language: str, store_name: str) -> list[str]:
    """The layout's English words still in a rendered email, checked against the catalogue."""
    left = []
    for english, translated in layout_words(language):
        assert translated % {"store_name": store_name} in shown, translated
        if english != translated and re.search(rf"\b{re.escape(english % {'store_name': store_name})}\b", shown):
            left.append(english)
    return left


def test_an_ab_step_and_an_sms_step_previewed_in_french_and_japanese_and_their_funnel(browser, live_server):
    store = StoreFactory(name="Maison Lumière", currency="EUR")
    # Every message goes out when due in this test: the cap and quiet hours have tests of their own.
    ContactPolicy.objects.create(store=store, window_hours=0, quiet_hours=False)
    owner = MembershipFactory(store=store, user=UserFactory(username="olivia")).user
    AbandonedCheckoutFactory(
        store=store,
        buyer_email="camille@example.com",
        first_name="Camille",
        currency="EUR",
        subtotal=Decimal("80.00"),
        total=Decimal("85.00"),
        shipping=Decimal("5.00"),
        tax=Decimal("0.00"),
        line_items=[line_item("Veste", 2, "40.00")],
        created_at=timezone.now() - timedelta(days=30),
    )
    page, errors = signed_in_page(browser, live_server, owner)

    page.goto(f"{live_server.url}/automations/new/")
    page.get_by_label("Name").fill("Paniers A/B")
    page.get_by_label("Track opens").check()
    first = page.locator("[data-step]").nth(0)
    first.get_by_text("A/B test this email").click()
    # Variant B's fields are labelled "Subject (variant B)" and "Body (variant B)": "Subject" alone is A's.
    assert "{{ first_name" in first.get_by_label("Subject", exact=True).input_value()
    assert first.get_by_label("Body (variant B)").input_value() == ""
    first.get_by_label("Subject (variant B)").fill("{{ first_name }}, 10% off if you come back today")
    page.get_by_role("button", name="Add a step").click()
    sms = page.locator("[data-step]").nth(1)
    sms.get_by_label("Wait").fill("2")
    sms.get_by_label("Action").select_option("NOTIFY_BUYER")
    assert "your cart is waiting" in sms.get_by_label("Text message / notification").input_value()
    shoot(page, "funnel-automation-form")
    page.get_by_role("button", name="Save automation").click()
    page.wait_for_url("**/automations/*/")

    automation = Automation.objects.get(store=store, name="Paniers A/B")
    Automation.objects.filter(store=store).exclude(pk=automation.pk).delete()
    ab_step = automation.steps.get(action=AutomationStep.Action.EMAIL_BUYER)
    assert automation.track_opens and ab_step.is_ab_test
    assert automation.steps.filter(action=AutomationStep.Action.NOTIFY_BUYER).exists()

    # Both variants in French and in Japanese: the merchant's words differ, the layout is all translated.
    for language, label in (("fr", "Français"), ("ja", "日本語")):
        page.goto(f"{live_server.url}/automations/{automation.pk}/preview/?step={ab_step.pk}")
        page.get_by_label("Language").select_option(label=label)
        page.get_by_label("A/B variant").select_option("B")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"**language={language}*")
        assert page.locator("[data-variant]").inner_text() == "B"
        assert "10% off" in page.locator("dl").inner_text()
        body = page.frame_locator("iframe.email-frame").locator("body")
        assert _english_left(body.inner_text(), language, store.name) == []
        shoot(page, f"funnel-preview-{language}-b")
        page.get_by_label("A/B variant").select_option("A")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**variant=A*")
        assert "10% off" not in page.locator("dl").inner_text()
        shown = page.frame_locator("iframe.email-frame").locator("body").inner_text()
        assert _english_left(shown, language, store.name) == []
        assert ("Bonjour Camille" if language == "fr" else "Camille様") in shown

    # A week's worth of buyers, their emails and texts sent by the dispatcher.
    now = timezone.now()
    checkouts = [
        AbandonedCheckoutFactory(
            store=store,
            created_at=now - timedelta(hours=3),
            total=Decimal("50.00"),
            phone="+33612345678",
            marketing_consent={"sms": True},
        )
        for _ in range(8)
    ]
    for ac in checkouts:
        ac.latest_activities = []
    automations_schedule(abandoned_checkouts=checkouts)
    scheduled_steps_dispatch()
    emails = list(SentEmail.objects.filter(store=store, kind=SentEmail.Kind.AUTOMATION))
    assert len(emails) == 8 == len([m for m in mail.outbox if m.to[0] != "camille@example.com"])

    # One buyer's mail client loads the pixel and they click through, then order.
    buyer = browser.new_context(user_agent="Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15")
    tab = buyer.new_page()
    clicked = emails[0]
    pixel = re.search(r'src="(http[^"]+/open/[^"]+\.gif)"', clicked.html_body).group(1)
    link = re.search(r'href="(http[^"]+redirect-to-checkout[^"]+)"', clicked.html_body).group(1).replace("&amp;", "&")
    tab.goto(pixel.replace("http://127.0.0.1:8000", live_server.url))
    # The link's redirect ends at the storefront, which the test cannot reach: the browser's own
    # request client follows the click up to the redirect, with the browser's user agent.
    answer = buyer.request.get(link.replace("http://127.0.0.1:8000", live_server.url), max_redirects=0)
    assert answer.status == 302 and answer.headers["location"].startswith("https://shop.example.com/")
    buyer.close()
    assert abandoned_checkout_recover(abandoned_checkout_id=clicked.abandoned_checkout_id, order_id="o-1")

    page.goto(f"{live_server.url}/automations/{automation.pk}/")
    page.get_by_label("Emails sent in").select_option("all")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**period=all*")
    table = page.locator("#funnel-table")
    step_row = table.locator('[data-funnel-step="1"]')
    assert step_row.locator('[data-col="sent"]').inner_text() == "8"
    assert step_row.locator('[data-col="opened"]').inner_text().startswith("1 ")
    assert step_row.locator('[data-col="clicked"]').inner_text().startswith("1 ")
    assert step_row.locator('[data-col="recovered"]').inner_text().startswith("1 ")
    assert "50.00" in step_row.locator('[data-col="revenue"]').inner_text()
    variant_sent = [int(table.locator(f'[data-funnel-variant="1{v}"] [data-col="sent"]').inner_text()) for v in "AB"]
    assert sum(variant_sent) == 8
    assert variant_sent == [sum(e.variant == v for e in emails) for v in "AB"]
    assert page.locator('[data-ab-verdict="too-few"]').inner_text().endswith("at least 30 of each.")
    assert "Apple Mail Privacy Protection" in page.locator("#funnel").inner_text()
    page.locator("#funnel-chart").wait_for()
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('funnel-chart'))")
    shoot(page, "funnel-automation-detail")
    assert AbandonedCheckout.objects.filter(store=store, status="RECOVERED").count() == 1

    # The sent emails say which variant each carried, and the one opened and clicked says so.
    page.goto(f"{live_server.url}/emails/")
    row = page.locator(f'[data-email="{clicked.pk}"]')
    assert row.locator('[data-col="variant"]').inner_text() == clicked.variant
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row.locator('[data-col="opened"]').inner_text())
    assert row.locator('[data-col="clicked"]').inner_text() == "Clicked"
    assert page.locator('#sent-emails [data-col="clicked"]', has_text="Clicked").count() == 1
    assert page.locator('#sent-emails [data-col="opened"]', has_text="Not yet").count() == 7
    shoot(page, "funnel-sent-emails")
    row.get_by_role("link").click()
    page.wait_for_url(f"**/emails/{clicked.pk}/")
    assert page.locator("[data-variant]").inner_text() == clicked.variant
    assert page.locator("[data-clicked]").inner_text().startswith("1 click, first ")
    assert page.get_by_role("link", name="Paniers A/B").is_visible()
    shoot(page, "funnel-sent-email")
    assert errors == []
