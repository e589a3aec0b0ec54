"""Tenancy: with store B's key (or session), nothing of store A is visible or changeable.

`CASES` must name every route in checkouts/api/urls.py: a new route without an isolation
case fails `test_every_route_has_an_isolation_case`.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern

from checkouts.api import urls as api_urls
from checkouts.models import AbandonedCheckout, Checkout, WebhookEvent
from checkouts.services import abandoned_checkouts_detect
from checkouts.services.oauth import oauth_app_create
from tests.checkouts.helpers import at, completed_event, updated_event
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def victim(store, make_api):
    """Store A's abandoned checkout, made the real way (ingest + sweep), with its checkout."""
    make_api(store).post("/api/v1/checkout-events", {"events": [updated_event("shared-id", email="a@a.example")]})
    abandoned_checkouts_detect(now=at(0) + timedelta(days=1))
    return AbandonedCheckout.objects.get(store=store)


@pytest.fixture
def intruder(other_store, make_api):
    return make_api(other_store)


def unchanged(ac: AbandonedCheckout) -> None:
    fresh = AbandonedCheckout.objects.get(pk=ac.pk)
    assert (fresh.status, fresh.link_clicks, fresh.updated_at) == (ac.status, ac.link_clicks, ac.updated_at)
    assert not WebhookEvent.objects.filter(entity_id=ac.pk).exclude(type=WebhookEvent.Type.CREATED).exists()


def item_ids(response, key="abandonedCheckouts") -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()[key]]


def case_wix_abandoned_checkout(intruder, victim, other_store):
    path = f"/ecom/v1/abandoned-checkout/{victim.id}"
    assert intruder.get(path).status_code == 404
    assert intruder.delete(path).status_code == 404


def case_wix_query(intruder, victim, other_store):
    by_id = {"query": {"filter": {"id": str(victim.id)}}}
    assert item_ids(intruder.post("/ecom/v1/abandoned-checkout/query", by_id)) == []
    assert item_ids(intruder.post("/ecom/v1/abandoned-checkout/query", {"query": {"paging": {"limit": 100}}})) == []


def case_wix_search(intruder, victim, other_store):
    body = {"search": {"search": {"expression": "a@a"}, "filter": {"id": {"$in": [str(victim.id)]}}}}
    assert item_ids(intruder.post("/ecom/v1/abandoned-checkout/search", body)) == []


def case_wix_analytics(intruder, victim, other_store):
    day = victim.created_at.date().isoformat()
    body = intruder.post("/ecom/v1/abandoned-checkout/get-analytics", {"startDate": day, "endDate": day}).json()
    assert body["recoverableCheckoutCount"] == 0 and body["recoverableValue"] == "0.00"


def case_wix_bulk_delete(intruder, victim, other_store):
    response = intruder.post("/ecom/v1/bulk/abandoned-checkout/delete", {"abandonedCheckoutIds": [str(victim.id)]})
    assert response.json()["results"][0]["itemMetadata"]["error"]["code"] == "NOT_FOUND"


def case_wix_redirect(intruder, victim, other_store):
    path = f"/ecom/v1/abandoned-checkout/{victim.id}/redirect-to-checkout?metasiteId={other_store.id}"
    assert Client().get(path).status_code == 404


def case_api_abandoned_checkouts(intruder, victim, other_store):
    assert item_ids(intruder.get("/api/v1/abandoned-checkouts/?q=a@a"), "results") == []
    assert item_ids(intruder.get("/api/v1/abandoned-checkouts/"), "results") == []


def case_api_abandoned_checkout(intruder, victim, other_store):
    assert intruder.get(f"/api/v1/abandoned-checkouts/{victim.id}/").status_code == 404


def case_api_checkout_events(intruder, victim, other_store):
    """B reporting a checkout with A's storefront id creates B's own checkout; A's is untouched."""
    events = [updated_event("shared-id", minutes=30, total="1.00"), completed_event("shared-id", minutes=40)]
    assert intruder.post("/api/v1/checkout-events", {"events": events}).status_code == 200
    assert Checkout.objects.get(store=victim.store, external_id="shared-id").completed_at is None
    assert Checkout.objects.filter(store=other_store, external_id="shared-id").exists()


def case_api_legacy_cart_abandoned(intruder, victim, other_store):
    body = {"cartId": "shared-id", "abandonTime": "2026-11-28T11:00:00Z", "totals": {"total": 1}}
    assert intruder.post("/api/v1/legacy/wix-stores/cart-abandoned", body).status_code == 200
    assert Checkout.objects.get(store=victim.store, external_id="shared-id").total != 1


def case_api_legacy_cart_recovered(intruder, victim, other_store):
    body = {"cartId": "shared-id", "recoveredTime": "2026-11-29T11:00:00Z"}
    assert intruder.post("/api/v1/legacy/wix-stores/cart-recovered", body).status_code == 200


def case_api_buyers_erase(intruder, victim, other_store):
    """B erasing A's buyer's address erases (and records) nothing of A's."""
    response = intruder.post("/api/v1/buyers/erase", {"email": "a@a.example"})
    assert response.status_code == 200 and response.json()["counts"] == {}
    assert AbandonedCheckout.objects.get(pk=victim.pk).buyer_email == "a@a.example"
    assert Checkout.objects.get(store=victim.store, external_id="shared-id").buyer_email == "a@a.example"


def case_public_without_store_data(intruder, victim, other_store):
    """The schema and the docs page are the same for everyone and carry no store's data."""
    for path in ("/api/schema/", "/api/docs/"):
        response = Client().get(path)
        assert response.status_code == 200 and str(victim.id).encode() not in response.content


def case_oauth2_token(intruder, victim, other_store):
    """B's app gets no token for A's store; its token for B reads nothing of A's."""
    app, secret = oauth_app_create(name="B's app", scopes=["read", "delete"], stores=[other_store])
    grant = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": secret}
    refused = Client().post("/oauth2/token", {**grant, "instance_id": str(victim.store_id)}, "application/json")
    assert refused.status_code == 400 and "access_token" not in refused.json()
    token = Client().post("/oauth2/token", {**grant, "instance_id": str(other_store.id)}, "application/json")
    headers = {"Authorization": token.json()["access_token"]}
    assert Client().get(f"/ecom/v1/abandoned-checkout/{victim.id}", headers=headers).status_code == 404
    assert Client().delete(f"/ecom/v1/abandoned-checkout/{victim.id}", headers=headers).status_code == 404
    spoofed = {**headers, "wix-site-id": str(victim.store_id)}
    assert Client().get(f"/ecom/v1/abandoned-checkout/{victim.id}", headers=spoofed).status_code == 401


def case_api_not_found(intruder, victim, other_store):
    response = intruder.get(f"/ecom/v1/abandoned-checkout/{victim.id}/unknown")
    assert response.status_code == 404 and set(response.json()) == {"message", "details"}
    assert b"a@a.example" not in response.content  # the path it was sent, echoed; nothing of A's


CASES = {
    "wix-abandoned-checkout": case_wix_abandoned_checkout,
    "wix-query": case_wix_query,
    "wix-search": case_wix_search,
    "wix-analytics": case_wix_analytics,
    "wix-bulk-delete": case_wix_bulk_delete,
    "wix-redirect": case_wix_redirect,
    "api-abandoned-checkouts": case_api_abandoned_checkouts,
    "api-abandoned-checkout": case_api_abandoned_checkout,
    "api-checkout-events": case_api_checkout_events,
    "api-legacy-cart-abandoned": case_api_legacy_cart_abandoned,
    "api-legacy-cart-recovered": case_api_legacy_cart_recovered,
    "api-buyers-erase": case_api_buyers_erase,
    "api-schema": case_public_without_store_data,
    "api-docs": case_public_without_store_data,
    "oauth2-token": case_oauth2_token,
    "api-not-found": case_api_not_found,
}


def test_every_route_has_an_isolation_case():
    routes = {pattern.name for pattern in api_urls.urlpatterns if isinstance(pattern, URLPattern)}
    assert all(isinstance(pattern, URLPattern) for pattern in api_urls.urlpatterns), "include() hides routes"
    assert routes == set(CASES), f"routes without an isolation case: {sorted(routes - set(CASES))}"


@pytest.mark.parametrize("route", sorted(CASES))
def test_another_stores_key_sees_and_changes_nothing(route, intruder, victim, other_store):
    CASES[route](intruder, victim, other_store)
    unchanged(victim)


def test_a_member_of_another_store_sees_nothing_through_the_session(victim, other_store):
    client = Client()
    client.force_login(MembershipFactory(store=other_store).user)
    assert client.get(f"/ecom/v1/abandoned-checkout/{victim.id}").status_code == 404
    assert client.get(f"/api/v1/abandoned-checkouts/{victim.id}/").status_code == 404
    assert client.get("/api/v1/abandoned-checkouts/").json()["results"] == []
