"""Fixtures for the dashboard's HTML views: signed-in clients per role, checkouts with items."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from checkouts.models import Membership
from checkouts.tenancy import SESSION_KEY
from checkouts.wix import multi_currency_price
from tests.factories import AbandonedCheckoutFactory, MembershipFactory, UserFactory


def line_item(name: str, quantity: int = 1, price: str = "50.00", *, slug: str | None = None, **extra) -> dict:
    slug = slug or name.lower().replace(" ", "-")
    amount = Decimal(price)
    return {
        "id": f"li-{slug}",
        "quantity": quantity,
        "catalogReference": {"catalogItemId": slug, "appId": "215238eb-22a5-4c36-9e7b-e7c08025e04e"},
        "productName": {"original": name},
        "price": multi_currency_price(amount, None, "USD", "", "en"),
        "image": {"id": slug, "url": f"/static/img/products/{slug}.svg", "width": 240, "height": 240, "altText": name},
        **extra,
    }


def signed_in(user, store=None) -> Client:
    client = Client()
    client.force_login(user)
    if store is not None:
        # Choose the store explicitly, as the switcher does, so a user of several stores lands in this one.
        session = client.session
        session[SESSION_KEY] = str(store.pk)
        session.save()
    return client


@pytest.fixture
def member(store):
    """member(role) → a signed-in client of a fresh user with that role in `store`."""

    def make(role: str = Membership.Role.OWNER) -> Client:
        user = UserFactory(username=f"{role.lower()}-{store.pk.hex[:6]}")
        MembershipFactory(user=user, store=store, role=role)
        return signed_in(user, store)

    return make


@pytest.fixture
def owner_client(member):
    return member(Membership.Role.OWNER)


@pytest.fixture
def manager_client(member):
    return member(Membership.Role.MANAGER)


@pytest.fixture
def viewer_client(member):
    return member(Membership.Role.VIEWER)


@pytest.fixture
def make_checkout(store):
    """make_checkout(hours_ago=…, **fields) → an abandoned checkout of `store` with one line item."""

    def make(*, hours_ago: float = 2, **fields):
        fields.setdefault("first_name", "Ada")
        fields.setdefault("last_name", "Lovelace")
        fields.setdefault("line_items", [line_item("Trail Backpack", 1, str(fields.get("total", "120.00")))])
        created = timezone.now() - timedelta(hours=hours_ago)
        return AbandonedCheckoutFactory(store=store, created_at=created, updated_at=created, **fields)

    return make
