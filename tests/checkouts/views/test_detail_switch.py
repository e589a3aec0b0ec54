"""A link to a checkout of another of the person's stores switches store; anyone else's stays a 404."""

import re
import uuid

import pytest

from checkouts.models import Membership
from checkouts.tenancy import SESSION_KEY
from tests.checkouts.views.conftest import signed_in
from tests.factories import AbandonedCheckoutFactory, MembershipFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def same_page(response, pk) -> str:
    """The page without what differs between any two requests: the id asked for, the CSRF token."""
    return re.sub(r'value="[A-Za-z0-9]{64}"', "", response.content.decode().replace(str(pk), ""))


def test_a_checkout_of_another_of_my_stores_switches_to_it(store):
    user = UserFactory()
    MembershipFactory(user=user, store=store, role=Membership.Role.OWNER)
    second = StoreFactory(name="Second Shop")
    MembershipFactory(user=user, store=second, role=Membership.Role.VIEWER)
    theirs = AbandonedCheckoutFactory(store=second, first_name="Marie")
    client = signed_in(user, store)

    response = client.get(f"/checkouts/{theirs.pk}/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(f"/checkouts/{theirs.pk}/", 302)]
    html = response.content.decode()
    assert "Switched to Second Shop." in html and "Marie" in html
    assert client.session[SESSION_KEY] == str(second.pk)


def test_a_checkout_of_a_store_i_do_not_belong_to_is_the_same_404_as_none(store, owner_client):
    foreign = AbandonedCheckoutFactory(store=StoreFactory(name="Not Mine"))
    session_store = owner_client.session[SESSION_KEY]

    other = owner_client.get(f"/checkouts/{foreign.pk}/")
    missing = owner_client.get(f"/checkouts/{uuid.uuid4()}/")

    assert other.status_code == missing.status_code == 404
    assert "Not Mine" not in other.content.decode()
    assert same_page(other, foreign.pk) == same_page(missing, missing.wsgi_request.path.split("/")[2])
    assert owner_client.session[SESSION_KEY] == session_store
