"""Pages anyone may open render for anyone: signed out, or signed in as a merchant of any store."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.views import defaults

from automations.messages.render import unsubscribe_token
from checkouts.models import AbandonedCheckout
from config.errors import server_error
from tests.factories import AbandonedCheckoutFactory, MembershipFactory, StoreFactory

from .conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["signed out", "merchant of the store", "merchant of another store"])
def visitor(request, store, owner):
    """A browser that raises instead of turning an exception into a 500, so a template error shows."""
    if request.param == "signed out":
        client = Client(raise_request_exception=True)
    else:
        user_store = store if request.param == "merchant of the store" else StoreFactory(name="Elsewhere")
        if user_store is not store:
            MembershipFactory(user=owner, store=user_store)
        client = signed_in(owner, user_store)
        client.raise_request_exception = True
    return client


def link(ac) -> str:
    return f"/ecom/v1/abandoned-checkout/{ac.id}/redirect-to-checkout?metasiteId={ac.store_id}"


def assert_public_page(response, status: int, text: bytes) -> None:
    assert response.status_code == status
    assert text in response.content
    # A buyer's page never carries the merchant's navigation, whoever opens it.
    assert b'class="sidebar"' not in response.content and b"Log out" not in response.content


def test_the_page_of_a_recovered_checkout(visitor, store):
    ac = AbandonedCheckoutFactory(
        store=store, status=AbandonedCheckout.Status.RECOVERED, checkout_recovered_at=datetime.now(UTC)
    )
    assert_public_page(visitor.get(link(ac)), 200, b"already completed this order")


def test_the_page_of_an_unknown_link(visitor, store):
    path = f"/ecom/v1/abandoned-checkout/{store.pk}/redirect-to-checkout?metasiteId={store.pk}"
    assert_public_page(visitor.get(path), 404, b"This link is no longer available")


def test_the_page_of_an_erased_checkout(visitor):
    bare = StoreFactory(storefront_url="")
    ac = AbandonedCheckoutFactory(store=bare, storefront_checkout_url="")
    assert_public_page(visitor.get(link(ac)), 404, b"can no longer be opened")


def test_the_unsubscribe_pages(visitor, store):
    path = f"/unsubscribe/{unsubscribe_token(store_id=store.pk, email='ada@example.com')}/"
    assert_public_page(visitor.get(path), 200, b"Stop reminders from Acme?")
    assert_public_page(visitor.post(path), 200, b"unsubscribed")
    assert_public_page(visitor.get(path), 200, b"unsubscribed")


def test_the_page_of_a_bad_unsubscribe_link(visitor):
    response = visitor.get("/unsubscribe/not-a-token/")
    assert response.status_code == 404 and b"find that page" in response.content


@pytest.mark.parametrize("signed", [False, True])
def test_the_error_pages(signed, owner, store):
    request = RequestFactory().get("/somewhere/")
    request.user = owner if signed else AnonymousUser()
    request.membership = owner.memberships.get(store=store) if signed else None
    request.store = store if signed else None
    assert b"403" in defaults.permission_denied(request, PermissionDenied()).content
    assert b"404" in defaults.page_not_found(request, Exception()).content
    assert server_error(request).status_code == 500
