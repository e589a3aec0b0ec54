"""The Django admin in a real browser, as a store's manager: the list, a checkout, recovering it."""

import pytest

from checkouts.models import AbandonedCheckout, Membership

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_browses_the_admin_and_recovers_a_checkout(page, shoot, demo_user, demo_store):
    Membership.objects.filter(user=demo_user).update(role=Membership.Role.MANAGER)
    demo_user.is_staff = True
    demo_user.save(update_fields=["is_staff"])
    log_in(page)

    page.goto("/admin/checkouts/abandonedcheckout/")
    assert ".0000" not in page.locator("#result_list").inner_text()
    shoot(page, "60-admin-checkout-list")

    ac = AbandonedCheckout.objects.filter(store=demo_store, status="ABANDONED").exclude(line_items=[]).first()
    page.goto(f"/admin/checkouts/abandonedcheckout/{ac.pk}/change/")
    assert page.locator(".field-items table").count() == 1
    shoot(page, "61-admin-checkout")

    page.locator("select[name='CHANGE_FORM-action']").select_option("mark_recovered")
    page.get_by_role("button", name="Run").first.click()
    page.wait_for_load_state()
    ac.refresh_from_db()
    assert ac.status == AbandonedCheckout.Status.RECOVERED
    shoot(page, "62-admin-checkout-recovered")

    page.goto("/admin/checkouts/webhookdelivery/")
    assert "Webhook deliveries" in page.content()
    page.goto("/admin/checkouts/activity/")
    assert "Email sent" in page.locator("#result_list").inner_text()
    shoot(page, "63-admin-activities")
