"""The email preview's "Checkout id" box takes the abandoned checkout's id or the storefront's checkout id."""

import pytest

from tests.automations.helpers import email_step, only_automation
from tests.factories import AbandonedCheckoutFactory, CheckoutFactory, StoreFactory

pytestmark = pytest.mark.django_db


def test_the_preview_finds_a_checkout_by_its_storefront_id(client, store, owner):
    automation = only_automation(store)
    step = email_step(automation, subject="For {{ first_name }}")
    live = CheckoutFactory(store=store, external_id="wix-cart-7781")
    wanted = AbandonedCheckoutFactory(
        store=store, checkout=live, first_name="Grace", checkout_external_id="wix-cart-7781"
    )
    AbandonedCheckoutFactory(store=store, first_name="Newest")  # what the preview shows by default
    client.force_login(owner)

    response = client.get(f"/automations/{automation.pk}/preview/", {"step": step.pk, "checkout": " wix-cart-7781 "})

    assert response.status_code == 200
    assert response.context["checkout"] == wanted and response.context["email"].subject == "For Grace"


def test_another_stores_storefront_id_is_not_found(client, store, owner):
    automation = only_automation(store)
    step = email_step(automation, subject="For {{ first_name }}")
    other = StoreFactory()
    live = CheckoutFactory(store=other, external_id="wix-cart-1")
    AbandonedCheckoutFactory(store=other, checkout=live, first_name="Foreign")
    AbandonedCheckoutFactory(store=store, first_name="Mine")
    client.force_login(owner)

    response = client.get(f"/automations/{automation.pk}/preview/", {"step": step.pk, "checkout": "wix-cart-1"})

    assert response.context["checkout"].first_name == "Mine"
