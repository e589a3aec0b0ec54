"""In a real browser: an automation with an email and an SMS step, the SMS counter live as the
merchant types, and the preview in French and Japanese with no English left in the email."""

import re
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po
from django.conf import settings

from automations.messages.sms import sms_length
from automations.models import AutomationStep
from tests.browser.test_automations import signed_in_page
from tests.checkouts.views.conftest import line_item
from tests.factories import AbandonedCheckoutFactory, MembershipFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# The discount code's block, shown only in an email that carries a code.
DISCOUNT_BLOCK = {"Your discount code", "Enter it at checkout to get your discount."}


def layout_words(language: str, *, discount_code: bool = False) -> list[tuple[str, str]]:
    """(English, translated) for each word of the email's HTML layout, from the catalogue."""
    with open(settings.BASE_DIR / "locale" / language / "LC_MESSAGES" / "django.po", "rb") as po:
        catalogue = read_po(po, locale=language)
    return [
        (m.id, m.string)
        for m in catalogue
        if m.id
        and any(path == "templates/automations/emails/recovery.html" for path, _ in m.locations)
        and (discount_code or m.id not in DISCOUNT_BLOCK)
    ]


def test_an_sms_step_counts_live_and_the_preview_speaks_french_and_japanese(browser, live_server):
    store = StoreFactory(name="Maison Lumière", currency="EUR")
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
    )
    page, errors = signed_in_page(browser, live_server, owner)

    page.goto(f"{live_server.url}/automations/new/")
    page.get_by_label("Name").fill("Paniers")
    page.get_by_role("button", name="Add a step").click()
    sms = page.locator("[data-step]").nth(1)
    sms.get_by_label("Action").select_option("NOTIFY_BUYER")
    message = sms.get_by_label("Text message / notification")
    counter = sms.locator("[data-sms-length]")
    # The step starts with the default text, measured as GSM-7 by the server.
    assert "your cart is waiting" in message.input_value()
    assert re.match(r"\d+ characters, GSM-7, 1 segment \(up to 160", counter.inner_text())
    message.fill("a" * 161)
    assert counter.inner_text().startswith("161 characters, GSM-7, 2 segments (up to 153 characters each)")
    for text in ("カートに商品が残っています：{{ recovery_url }}", "€[" * 40 + "a", "あ" * 71, "🛒" * 36):
        message.fill(text)  # the script counts as the server does
        assert counter.inner_text().startswith(f"{sms_length(text).label} (up to {sms_length(text).per_segment} ")
    assert sms_length("あ" * 71).label == "71 characters, UCS-2, 2 segments"
    page.get_by_role("button", name="Save automation").click()
    page.wait_for_url("**/automations/*/")

    email_step = AutomationStep.objects.get(automation__store=store, action="EMAIL_BUYER")
    text_step = AutomationStep.objects.get(automation__store=store, action="NOTIFY_BUYER")
    for language, label in (("fr", "Français"), ("ja", "日本語")):
        page.goto(f"{live_server.url}/automations/{email_step.automation_id}/preview/?step={email_step.pk}")
        page.get_by_label("Language").select_option(label=label)
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"**language={language}*")
        body = page.frame_locator("iframe.email-frame").locator("body")
        shown = body.inner_text()
        for english, translated in layout_words(language):
            assert translated % {"store_name": store.name} in shown, translated
            if english != translated:
                assert not re.search(rf"\b{re.escape(english % {'store_name': store.name})}\b", shown), english
        assert ("Bonjour Camille" if language == "fr" else "Camille様") in shown

    page.goto(f"{live_server.url}/automations/{text_step.automation_id}/preview/?step={text_step.pk}&language=ja")
    assert "UCS-2" in page.locator("[data-sms-length]").inner_text()
    assert errors == []
