"""Buyer-supplied line-item images load only from the store's storefront and media hosts."""

import pytest

from tests.automations.helpers import email_step, only_automation

from .conftest import line_item

pytestmark = pytest.mark.django_db

TRACKER = "https://tracker.example.net/pixel.gif?buyer=ada"
MEDIA = "https://static.wixstatic.com/media/boot.jpg"


@pytest.fixture
def hostile(store, make_checkout):
    """A checkout whose buyer put a tracking pixel in one item and left the store's own image in another."""
    store.storefront_hosts = ["shop.example.com", "static.wixstatic.com"]
    store.save()
    return make_checkout(
        line_items=[
            line_item("Spy Hat", image={"url": TRACKER, "altText": "hat"}),
            line_item("Boot", image={"url": MEDIA, "altText": "boot"}),
        ]
    )


def test_the_detail_page_shows_a_placeholder_for_an_image_off_the_stores_hosts(hostile, viewer_client):
    html = viewer_client.get(f"/checkouts/{hostile.pk}/").content.decode()
    assert "tracker.example.net" not in html
    assert f'src="{MEDIA}"' in html
    assert 'class="placeholder"' in html and "Spy Hat" in html


def test_the_list_never_loads_an_image_off_the_stores_hosts(hostile, viewer_client):
    html = viewer_client.get("/checkouts/").content.decode()
    assert "Spy Hat" in html and "tracker.example.net" not in html
    assert 'class="thumb placeholder"' in html  # the first item's image stands for the row


def test_the_overview_never_loads_an_image_off_the_stores_hosts(hostile, viewer_client):
    html = viewer_client.get("/?period=30d").content.decode()
    assert "Spy Hat" in html and "tracker.example.net" not in html
    assert f'src="{MEDIA}"' in html


def test_the_automation_preview_never_loads_an_image_off_the_stores_hosts(hostile, store, owner_client):
    automation = only_automation(store)
    step = email_step(automation, body="Hi")
    frame = owner_client.get(f"/automations/{automation.pk}/preview/html/?step={step.pk}&checkout={hostile.pk}")
    html = frame.content.decode()
    assert frame.status_code == 200 and "Spy Hat" in html
    assert "tracker.example.net" not in html and MEDIA in html
