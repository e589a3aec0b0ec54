"""Settings → Privacy in a real browser: find a buyer, confirm, erase; the record is listed."""

import pytest

from checkouts.models import AbandonedCheckout, ErasureRecord

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_erase_a_buyer_from_the_privacy_tab(page, shoot, demo_user, demo_store):
    email = AbandonedCheckout.objects.filter(store=demo_store).exclude(buyer_email="").first().buyer_email
    log_in(page)
    page.goto("/settings/")
    page.get_by_role("link", name="Privacy").click()
    page.wait_for_url("**/settings/privacy/")
    shoot(page, "60-settings-privacy-empty")

    page.get_by_label("Buyer's email address").fill(email.upper())
    page.get_by_role("button", name="Find their data").click()
    page.get_by_role("button", name="Erase this buyer").wait_for()
    assert "abandoned checkout" in page.locator(".danger-zone").inner_text()
    shoot(page, "61-settings-privacy-confirm")

    page.get_by_role("button", name="Erase this buyer").click()
    page.get_by_text("Buyer erased:").wait_for()
    record = ErasureRecord.objects.get()
    assert record.email_hash[:12] in page.locator("table").inner_text()
    assert email.lower() not in page.content().lower()
    assert not AbandonedCheckout.objects.filter(store=demo_store, email_key=email.lower()).exists()
    shoot(page, "62-settings-privacy-erased")
