"""Every admin page opens for every role, and "open, change nothing, save" works on every model."""

import pytest
from django.contrib import admin

from checkouts.admin_scope import StoreScopedAdmin
from checkouts.models import ApiKey, Membership
from tests.checkouts.admin_forms import ROLES, form_data, staff
from tests.checkouts.admin_world import build_world, change_url, list_url

OWNERS_ONLY = (Membership, ApiKey)


@pytest.fixture
def world(db):
    return build_world("Acme")


def scoped_models():
    return [model for model, model_admin in admin.site._registry.items() if isinstance(model_admin, StoreScopedAdmin)]


def test_the_world_covers_every_store_scoped_admin(world):
    assert set(scoped_models()) <= set(world.objects)


@pytest.mark.parametrize("who", [*ROLES, "superuser"])
def test_every_list_and_change_page_opens_for_each_role(world, who):
    client = (
        staff(None, None, "root", superuser=True) if who == "superuser" else staff(world.store, who, f"staff-{who}")
    )
    assert client.get("/admin/").status_code == 200
    for model, obj in world.objects.items():
        listing = client.get(list_url(model))
        if model in OWNERS_ONLY and who in (Membership.Role.MANAGER, Membership.Role.VIEWER):
            # As in Settings: only owners see the store's members and API keys.
            assert listing.status_code == 403, model.__name__
            assert client.get(change_url(obj)).status_code in (302, 403), model.__name__
            continue
        assert listing.status_code == 200, (model.__name__, listing.status_code)
        page = client.get(change_url(obj))
        assert page.status_code == 200, (model.__name__, page.status_code)
        assert page.context["original"].pk == obj.pk
        history = client.get(change_url(obj).replace("/change/", "/history/"))
        assert history.status_code == 200, (model.__name__, history.status_code)
        delete = client.get(change_url(obj).replace("/change/", "/delete/"))
        assert delete.status_code in (200, 403), (model.__name__, delete.status_code)


def test_a_staff_member_of_no_store_sees_no_store_data(world):
    client = staff(None, None, "outsider")
    assert client.get("/admin/").status_code == 200
    for model, obj in world.objects.items():
        assert client.get(list_url(model)).status_code == 403, model.__name__
        assert client.get(change_url(obj)).status_code in (302, 403), model.__name__


@pytest.mark.parametrize("who", [Membership.Role.OWNER, Membership.Role.MANAGER, "superuser"])
def test_open_change_nothing_save_works_on_every_change_page(world, who):
    client = staff(None, None, "root", superuser=True) if who == "superuser" else staff(world.store, who, "boss")
    for model, obj in world.objects.items():
        page = client.get(change_url(obj))
        if page.status_code == 403 and model in OWNERS_ONLY:
            continue
        if not page.context["has_change_permission"]:
            continue  # read-only by design (outbox events, sent mail, erasure records)
        form_id = f"{model._meta.model_name}_form"
        data = form_data(page.content.decode(), form_id)
        data["_save"] = ["Save"]
        response = client.post(change_url(obj), data)
        errors = response.context and response.context.get("errors")
        assert response.status_code == 302, (model.__name__, response.status_code, errors)
