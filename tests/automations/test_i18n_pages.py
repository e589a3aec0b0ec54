"""Buyer pages in the buyer's language, the preview in any shipped language, and the SMS step's form."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from automations.messages import defaults
from automations.messages.render import unsubscribe_token, unsubscribe_token_language, unsubscribe_url
from automations.messages.sms import sms_length
from automations.models import AutomationStep
from checkouts.models import AbandonedCheckout
from tests.automations.helpers import email_step, only_automation
from tests.automations.test_views_automations import form_data, step_data
from tests.factories import AbandonedCheckoutFactory, AutomationStepFactory

pytestmark = pytest.mark.django_db


def test_the_unsubscribe_page_speaks_the_language_of_the_email(store):
    url = unsubscribe_url(store_id=store.pk, email="ada@example.com", language="fr")
    path = url.split("testserver", 1)[-1] if "testserver" in url else "/unsubscribe/" + url.split("/unsubscribe/")[1]
    page = Client().get(path).content.decode()
    assert f"Ne plus recevoir de rappels de {store.name} ?" in page and '<html lang="fr">' in page
    assert "Stop reminders" not in page and "Aller au contenu" in page
    done = Client().post(path).content.decode()
    assert "Vous êtes désabonné" in done and "C’est immédiat." in done


def test_an_unsubscribe_link_without_a_language_speaks_the_stores(store):
    store.language = "de"
    store.save()
    page = Client().get(f"/unsubscribe/{unsubscribe_token(store_id=store.pk, email='ada@example.com')}/")
    assert f"Keine Erinnerungen mehr von {store.name}?" in page.content.decode()
    assert unsubscribe_token_language(unsubscribe_token(store_id=store.pk, email="a@b.c", language="ja")) == "ja"


def test_the_recovery_landing_page_speaks_the_buyers_language(store):
    ac = AbandonedCheckoutFactory(
        store=store,
        buyer_language="es-MX",
        status=AbandonedCheckout.Status.RECOVERED,
        checkout_recovered_at=datetime.now(UTC),
    )
    page = Client().get(f"/ecom/v1/abandoned-checkout/{ac.id}/redirect-to-checkout?metasiteId={store.pk}")
    text = page.content.decode()
    assert "Ya has completado este pedido" in text and f"Seguir comprando en {store.name}" in text
    assert "already completed" not in text


def test_an_unknown_link_answers_in_the_browsers_language(store):
    page = Client().get(
        f"/ecom/v1/abandoned-checkout/{store.pk}/redirect-to-checkout?metasiteId={store.pk}",
        HTTP_ACCEPT_LANGUAGE="ja,en;q=0.5",
    )
    assert page.status_code == 404 and "このリンクは利用できなくなりました" in page.content.decode()


def test_the_preview_in_japanese(client, store, owner):
    automation = only_automation(store)
    step = email_step(automation)
    ac = AbandonedCheckoutFactory(store=store, buyer_language="en", first_name="Ken")
    client.force_login(owner)
    response = client.get(f"/automations/{automation.pk}/preview/?step={step.pk}&checkout={ac.pk}&language=ja")
    assert response.status_code == 200
    assert "ご注文を完了する" in response.context["email"].text
    assert "language=ja" in response.content.decode()  # the frame shows the same language
    frame = client.get(f"/automations/{automation.pk}/preview/html/?step={step.pk}&checkout={ac.pk}&language=ja")
    assert '<html lang="ja">' in frame.content.decode() and "ご注文を完了する" in frame.content.decode()
    ac.refresh_from_db()
    assert ac.buyer_language == "en"  # previewing changes no checkout


def test_the_preview_of_a_text_step_counts_segments(client, store, owner):
    automation = only_automation(store)
    step = AutomationStepFactory(automation=automation, action="NOTIFY_BUYER", message=defaults.TEXT_MESSAGE)
    AbandonedCheckoutFactory(store=store, buyer_language="fr")
    client.force_login(owner)
    response = client.get(f"/automations/{automation.pk}/preview/?step={step.pk}&language=ja")
    assert response.status_code == 200
    assert "カートに商品が残っています" in response.context["text"]
    assert response.context["length"].encoding == "UCS-2"
    length = sms_length(response.context["text"])
    # Japanese and a recovery link: more than one 67-character part, shown as computed.
    assert length.segments > 1 and response.context["length"] == length
    assert f"{length.label} (up to 67 characters each)" in response.content.decode()
    french = client.get(f"/automations/{automation.pk}/preview/?step={step.pk}")
    assert "votre panier vous attend" in french.context["text"] and french.context["length"].encoding == "GSM-7"


def test_a_text_step_starts_with_the_default_text_and_its_length(client, store, owner):
    client.force_login(owner)
    page = client.get("/automations/new/").content.decode()
    assert "your cart is waiting. Complete your order" in page
    assert "data-sms-length" in page and "GSM-7, 1 segment " in page
    assert "js/sms_counter.js" in page


def test_the_buyers_default_text_left_on_a_staff_step_means_the_staff_default(client, store, owner):
    client.force_login(owner)
    data = form_data([step_data(0, action="NOTIFY_STAFF", message=defaults.TEXT_MESSAGE, notify_members=[])])
    data["steps-0-notify_members"] = [owner.memberships.get(store=store).pk]
    response = client.post("/automations/new/", data)
    assert response.status_code == 302
    step = AutomationStep.objects.get(automation__store=store)
    assert step.action == "NOTIFY_STAFF" and step.message == ""
