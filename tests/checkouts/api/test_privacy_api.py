"""POST /api/v1/buyers/erase: the delete scope (or the Manager role), a 400 naming the field, the record."""

import pytest
from django.test import Client

from checkouts.models import Checkout, ErasureRecord
from checkouts.models.privacy import email_digest
from tests.checkouts.test_privacy import EMAIL, ingest
from tests.checkouts.views.conftest import signed_in
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/buyers/erase"


def test_erases_the_buyer_and_answers_with_the_record(store, make_api):
    ingest(store, "co-1")
    response = make_api(store).post(URL, {"email": EMAIL.upper()})
    assert response.status_code == 200, response.content
    body = response.json()
    record = ErasureRecord.objects.get()
    assert body["id"] == record.pk and body["counts"] == {"checkouts": 1}
    assert body["emailHash"] == email_digest(EMAIL) and body["erasedDate"].startswith(str(record.erased_at.year))
    assert body["erasedBy"] == "API key “test”"
    assert EMAIL.lower() not in response.content.decode().lower()


@pytest.mark.parametrize(
    ("payload", "rule"),
    [({}, "REQUIRED_FIELD"), ({"email": "not-an-address"}, "FORMAT"), ({"email": ""}, "REQUIRED_FIELD")],
)
def test_bad_input_is_a_400_naming_the_email_field(store, make_api, payload, rule):
    response = make_api(store).post(URL, payload)
    assert response.status_code == 400
    (violation,) = response.json()["details"]["validationError"]["fieldViolations"]
    assert violation["field"] == "email" and violation["violatedRule"] == rule
    assert not ErasureRecord.objects.exists()


def test_a_key_without_the_delete_scope_is_refused(store, make_api):
    ingest(store, "co-1")
    response = make_api(store, scopes=("read", "ingest")).post(URL, {"email": EMAIL})
    assert response.status_code == 403
    assert "delete" in response.json()["message"]
    assert not ErasureRecord.objects.exists()


def test_no_key_is_a_401(store):
    assert Client().post(URL, {"email": EMAIL}, content_type="application/json").status_code == 401


@pytest.mark.parametrize(("role", "status"), [("VIEWER", 403), ("MANAGER", 200), ("OWNER", 200)])
def test_signed_in_members_need_the_manager_role(store, role, status):
    user = MembershipFactory(store=store, user=UserFactory(username=role.lower()), role=role).user
    response = signed_in(user, store).post(URL, {"email": EMAIL}, content_type="application/json")
    assert response.status_code == status
    if status == 200:
        assert ErasureRecord.objects.get().actor == user


def test_a_key_erases_only_in_its_own_store(store, other_store, make_api):
    ingest(store, "co-1")
    ingest(other_store, "co-1")
    make_api(other_store).post(URL, {"email": EMAIL})
    assert not ErasureRecord.objects.filter(store=store).exists()
    assert Checkout.objects.get(store=store).buyer_email == EMAIL
    assert Checkout.objects.get(store=other_store).buyer_email == ""


def test_the_route_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", headers={"Accept": "application/json"}).json()
    operation = schema["paths"]["/api/v1/buyers/erase"]["post"]
    assert operation["operationId"] == "eraseBuyer"
    assert {"200", "400", "403"} <= set(operation["responses"])
    request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][request]["required"] == ["email"]
