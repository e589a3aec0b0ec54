"""The store's storefront hosts: what a recovery link may redirect to and an image may load from."""

import importlib

import pytest
from django.apps import apps

from checkouts.models import Store
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

fill = importlib.import_module("checkouts.migrations.0011_storefront_hosts").fill_storefront_hosts


def test_a_new_store_allows_its_storefront_urls_host():
    assert StoreFactory(storefront_url="https://Shop.Example.com/en").storefront_hosts == ["shop.example.com"]
    assert StoreFactory(storefront_url="").storefront_hosts == []


def test_the_data_migration_fills_the_hosts_of_existing_stores():
    kept = StoreFactory(storefront_url="https://a.example.com", storefront_hosts=["a.example.com", "cdn.example.com"])
    old = StoreFactory(storefront_url="https://b.example.com:8443/shop")
    bare = StoreFactory(storefront_url="")
    Store.objects.filter(pk=old.pk).update(storefront_hosts=[])  # as the column arrives: empty

    fill(apps, None)

    old.refresh_from_db(), kept.refresh_from_db(), bare.refresh_from_db()
    assert old.storefront_hosts == ["b.example.com:8443"]
    assert bare.storefront_hosts == []
    assert kept.storefront_hosts == ["a.example.com", "cdn.example.com"]


@pytest.mark.parametrize(
    "url,allowed",
    [
        ("https://shop.example.com/p/1.png", True),
        ("https://static.wixstatic.com/media/1.jpg", True),
        ("/static/img/products/boot.svg", True),
        ("http://127.0.0.1:8000/static/img/products/boot.svg", True),  # Comeback's own static files
        ("https://tracker.example.net/pixel.gif?buyer=1", False),
        ("//tracker.example.net/pixel.gif", False),
        ("/static/../settings/", False),
        ("/static/%2e%2e/settings/", False),
        ("/checkouts/", False),
        ("http://127.0.0.1:8000/checkouts/", False),
        ("data:image/svg+xml;base64,PHN2Zz4=", False),
        ("javascript:alert(1)", False),
        ("https://shop.example.com@tracker.example.net/p.png", False),
        ("", False),
    ],
)
def test_images_load_only_from_the_stores_hosts(url, allowed):
    store = StoreFactory(storefront_hosts=["shop.example.com", "static.wixstatic.com"])
    assert store.allows_image(url) is allowed
