"""A discount code pool in a real browser: uploaded as CSV on the automation's discount page,
its figures and warning on the automation's page, and the code in the previewed email."""

import pytest

from automations.models import DiscountCode, DiscountOffer
from tests.automations.helpers import email_step, only_automation
from tests.factories import MembershipFactory, StoreFactory, UserFactory

from .test_automations import shoot, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_uploading_a_code_pool_and_previewing_the_email_with_its_code(browser, live_server, tmp_path):
    store = StoreFactory(name="Northwind", currency="EUR")
    owner = MembershipFactory(store=store, user=UserFactory(username="olivia")).user
    automation = only_automation(store, name="Win back")
    email_step(automation, position=1, body="Hi {{ first_name }}, here is 10% off: {{ discount_code }}")
    page, errors = signed_in_page(browser, live_server, owner)

    page.goto(f"{live_server.url}/automations/{automation.pk}/")
    page.get_by_role("link", name="Set up discount codes").click()
    page.wait_for_url(f"**/automations/{automation.pk}/discount/")
    # An Excel export: a byte-order mark, a header, a code twice and a code with a space.
    csv = tmp_path / "codes.csv"
    csv.write_bytes("\ufeffCode\r\nNW-AAA1\r\nNW-BBB2\r\nNW-AAA1\r\nNW CCC3\r\nNW-DDD4\r\n".encode())
    page.get_by_label("CSV file of codes").set_input_files(str(csv))
    page.get_by_role("button", name="Upload codes").click()
    page.wait_for_url(f"**/automations/{automation.pk}/discount/")
    assert page.get_by_text("3 codes added, 1 already in the list, 1 row skipped (line 5:").is_visible()
    assert sorted(DiscountCode.objects.values_list("code", flat=True)) == ["NW-AAA1", "NW-BBB2", "NW-DDD4"]
    assert DiscountOffer.objects.get(automation=automation).source == "POOL"
    # Three codes: below 20, so the page says to upload more.
    assert page.get_by_role("alert").filter(has_text="Only 3 of 3 codes left").is_visible()
    assert page.get_by_label("Single-use codes from an uploaded list").is_checked()
    shoot(page, "automation-discount-pool")

    page.goto(f"{live_server.url}/automations/{automation.pk}/")
    assert page.get_by_text("Codes handed out").is_visible()
    shoot(page, "automation-discount-summary")

    # The email previewed in French: the merchant's words with the code, our block in French.
    step = automation.steps.get()
    page.goto(f"{live_server.url}/automations/{automation.pk}/preview/?step={step.pk}&language=fr")
    frame = page.frame_locator("iframe.email-frame")
    body = frame.locator("body").inner_text()
    assert "here is 10% off: NW-AAA1" in body
    assert "Votre code de réduction" in body and "Saisissez-le au moment du paiement" in body
    assert "Your discount code" not in body
    shoot(page, "automation-discount-preview-fr")
    # A preview hands nothing out.
    assert DiscountCode.objects.free().count() == 3
    assert errors == []
