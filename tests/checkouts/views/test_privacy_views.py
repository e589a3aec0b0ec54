"""Settings → Privacy: managers erase a buyer after a confirmation step; viewers cannot."""

import re

import pytest

from checkouts.models import AbandonedCheckout, Checkout, ErasureRecord
from checkouts.services.privacy import buyer_erase
from tests.checkouts.test_privacy import EMAIL, ingest

pytestmark = pytest.mark.django_db

URL = "/settings/privacy/"


def test_a_viewer_neither_sees_the_tab_nor_opens_the_page(viewer_client):
    assert viewer_client.get(URL).status_code == 403
    assert viewer_client.post(URL, {"email": EMAIL, "confirmed": "on"}).status_code == 403
    assert URL not in viewer_client.get("/settings/").content.decode()
    assert not ErasureRecord.objects.exists()


def test_a_manager_sees_the_tab(manager_client):
    page = manager_client.get("/settings/").content.decode()
    assert f'href="{URL}"' in page and ">Privacy<" in page


def test_erasing_asks_first_showing_what_matches_then_erases(manager_client, store):
    ingest(store, "co-1")
    ingest(store, "co-2")
    AbandonedCheckout.objects.create(store=store, buyer_email=EMAIL, currency="USD")

    confirm = manager_client.post(URL, {"email": EMAIL.upper()})
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "1 abandoned checkout</strong>" in page and "2 checkouts</strong>" in page
    assert 'name="confirmed" value="on"' in page
    assert Checkout.objects.filter(buyer_email=EMAIL).count() == 2  # nothing erased yet
    assert not ErasureRecord.objects.exists()

    done = manager_client.post(URL, {"email": EMAIL.upper(), "confirmed": "on"}, follow=True)
    assert done.redirect_chain == [(URL, 302)]
    assert not Checkout.objects.exclude(buyer_email="").exists()
    assert not AbandonedCheckout.objects.exclude(buyer_email="").exists()
    record = ErasureRecord.objects.get()
    page = done.content.decode()
    assert f"erasure #{record.pk}" in page and record.email_hash[:12] in page
    assert EMAIL.lower() not in page.lower()


def test_a_bad_address_is_a_400_with_the_error_on_the_field(manager_client):
    response = manager_client.post(URL, {"email": "nope"})
    assert response.status_code == 400
    assert 'id="id_email_error"' in response.content.decode()
    assert not ErasureRecord.objects.exists()


def test_the_list_shows_only_this_stores_erasures(manager_client, store, other_store):
    mine = buyer_erase(store=store, email="a@example.org")
    theirs = buyer_erase(store=other_store, email="b@example.org")
    page = manager_client.get(URL).content.decode()
    assert mine.email_hash[:12] in page and theirs.email_hash[:12] not in page


def test_the_pages_have_no_inline_script(manager_client, store):
    for response in (manager_client.get(URL), manager_client.post(URL, {"email": EMAIL})):
        scripts = re.findall(r"<script[^>]*>", response.content.decode())
        assert scripts and all("src=" in tag for tag in scripts)
