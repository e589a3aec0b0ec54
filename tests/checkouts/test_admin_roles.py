"""The admin follows each person's role in each store, and never lets one store reach into another."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.models import Automation, AutomationStep, Task
from checkouts.admin_scope import store_lookup
from checkouts.models import AbandonedCheckout, Activity, Membership, Store, WebhookDelivery
from tests.checkouts.admin_forms import form_data, staff
from tests.checkouts.admin_world import build_world, change_url, list_url
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def acme(db):
    return build_world("Acme")


@pytest.fixture
def globex(db):
    return build_world("Globex")


def resubmit(client, obj, **changes):
    """Open `obj`'s change page, change `changes`, save."""
    page = client.get(change_url(obj))
    data = form_data(page.content.decode(), f"{obj._meta.model_name}_form")
    data.update({name: value if isinstance(value, list) else [value] for name, value in changes.items()})
    data["_save"] = ["Save"]
    return client.post(change_url(obj), data)


def test_a_viewer_views_but_every_change_add_and_delete_is_403(acme):
    viewer = staff(acme.store, Membership.Role.VIEWER, "viewer")
    membership = acme.objects[Membership]
    # Members and API keys are the owners' (as in Settings): a viewer does not even see them.
    assert viewer.get(change_url(membership)).status_code in (302, 403)
    page = viewer.get(change_url(acme.objects[AbandonedCheckout]))
    assert page.status_code == 200
    assert not page.context["has_change_permission"]

    response = viewer.post(change_url(membership), {"role": "OWNER", "_save": "Save"})
    assert response.status_code == 403
    own = Membership.objects.get(user__username="viewer")
    assert viewer.post(change_url(own), {"role": "OWNER", "_save": "Save"}).status_code == 403
    own.refresh_from_db()
    assert own.role == Membership.Role.VIEWER

    for model, obj in acme.objects.items():
        assert viewer.post(change_url(obj), {"_save": "Save"}).status_code == 403, model.__name__
        delete = change_url(obj).replace("/change/", "/delete/")
        assert viewer.post(delete, {"post": "yes"}).status_code == 403, model.__name__
        assert viewer.post(list_url(model) + "add/", {"_save": "Save"}).status_code == 403, model.__name__
    assert AbandonedCheckout.objects.filter(pk=acme.objects[AbandonedCheckout].pk).exists()


def test_a_viewer_cannot_run_actions(acme):
    viewer = staff(acme.store, Membership.Role.VIEWER, "viewer")
    ac = acme.objects[AbandonedCheckout]
    for action in ("mark_recovered", "anonymise", "delete_with_event"):
        viewer.post(list_url(AbandonedCheckout), {"action": action, "_selected_action": [str(ac.pk)]})
    ac.refresh_from_db()
    assert ac.status == AbandonedCheckout.Status.ABANDONED
    assert ac.buyer_email


def test_a_manager_changes_the_stores_records_but_not_its_memberships(acme):
    manager = staff(acme.store, Membership.Role.MANAGER, "manager")
    membership = acme.objects[Membership]
    assert resubmit(manager, membership, role="VIEWER").status_code == 403
    membership.refresh_from_db()
    assert membership.role == Membership.Role.OWNER
    add = {"user": str(UserFactory(username="newcomer").pk), "store": str(acme.store.pk), "role": "OWNER"}
    assert manager.post(list_url(Membership) + "add/", add).status_code == 403
    assert not Membership.objects.filter(user__username="newcomer").exists()

    # The timeline is the automations' record: nobody edits it by hand.
    activity = acme.objects[Activity]
    assert manager.post(change_url(activity), {"type": "EMAIL_SENT", "_save": "Save"}).status_code == 403
    activity.refresh_from_db()
    assert activity.type == Activity.Type.SCHEDULED

    automation = acme.objects[Automation]
    assert resubmit(manager, automation, name="Win them back").status_code == 302
    automation.refresh_from_db()
    assert automation.name == "Win them back"


def test_an_owner_changes_roles_but_the_last_owner_cannot_step_down(acme):
    owner = staff(acme.store, Membership.Role.OWNER, "second-owner")
    first = acme.objects[Membership]
    assert resubmit(owner, first, role="MANAGER").status_code == 302
    first.refresh_from_db()
    assert first.role == Membership.Role.MANAGER
    second = Membership.objects.get(user__username="second-owner")
    response = resubmit(owner, second, role="VIEWER")
    assert response.status_code == 200
    assert "at least one owner" in response.content.decode()
    second.refresh_from_db()
    assert second.role == Membership.Role.OWNER


def test_a_viewer_of_one_store_and_manager_of_another_changes_only_the_second(acme, globex):
    client = staff(acme.store, Membership.Role.VIEWER, "mixed")
    MembershipFactory(store=globex.store, user=UserFactory(username="mixed"), role="MANAGER")
    assert resubmit(client, acme.objects[Automation], name="Mine now").status_code == 403
    assert resubmit(client, globex.objects[Automation], name="Globex flow").status_code == 302
    ac = acme.objects[AbandonedCheckout]
    client.post(list_url(AbandonedCheckout), {"action": "anonymise", "_selected_action": [str(ac.pk)]})
    ac.refresh_from_db()
    assert ac.buyer_email


def test_lists_and_pages_hold_only_the_users_stores(acme, globex):
    manager = staff(acme.store, Membership.Role.MANAGER, "manager")
    listing = manager.get(list_url(AbandonedCheckout)).content.decode()
    assert str(acme.objects[AbandonedCheckout].pk) in listing
    assert str(globex.objects[AbandonedCheckout].pk) not in listing
    assert manager.get(change_url(globex.objects[AbandonedCheckout])).status_code == 302
    foreign = globex.objects[Automation]
    manager.post(change_url(foreign), {"store": str(foreign.store_id), "name": "Taken over", "_save": "Save"})
    foreign.refresh_from_db()
    assert foreign.name != "Taken over"


@pytest.mark.parametrize("superuser", [False, True])
def test_a_step_refuses_a_member_of_another_store(acme, globex, superuser):
    client = (
        staff(None, None, "root", superuser=True) if superuser else staff(acme.store, Membership.Role.OWNER, "boss")
    )
    step = acme.objects[AutomationStep]
    foreign = globex.objects[Membership]
    fields = client.get(change_url(step)).context["adminform"].form.fields
    for name in ("task_assignee", "notify_members"):
        assert set(fields[name].queryset) == set(Membership.objects.filter(store=acme.store))

    response = resubmit(client, step, task_assignee=str(foreign.pk), notify_members=[str(foreign.pk)])
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"task_assignee", "notify_members"}
    step.refresh_from_db()
    assert step.task_assignee is None
    assert not step.notify_members.exists()


def test_an_automation_inline_step_refuses_a_member_of_another_store(acme, globex):
    client = staff(None, None, "root", superuser=True)
    automation = acme.objects[Automation]
    foreign = globex.objects[Membership]
    response = resubmit(client, automation, **{"steps-0-task_assignee": str(foreign.pk)})
    assert response.status_code == 200
    assert any(
        "task_assignee" in form_errors for form_errors in response.context["inline_admin_formsets"][0].formset.errors
    )
    assert not AutomationStep.objects.filter(automation=automation, task_assignee=foreign).exists()


def test_a_new_record_cannot_point_into_another_store(acme, globex):
    client = staff(None, None, "root", superuser=True)
    add = {
        "store": str(acme.store.pk),
        "abandoned_checkout": str(globex.objects[AbandonedCheckout].pk),
        "title": "Cross-store",
        "assignee": str(globex.owner.pk),
        "due_at_0": "2026-12-06",
        "due_at_1": "10:00:00",
        "_save": "Save",
    }
    response = client.post(list_url(Task) + "add/", add)
    assert response.status_code == 200
    assert {"abandoned_checkout", "assignee"} <= set(response.context["adminform"].form.errors)
    assert not Task.objects.filter(title="Cross-store").exists()

    manager = staff(acme.store, Membership.Role.MANAGER, "manager")
    response = manager.post(list_url(Task) + "add/", {**add, "store": str(globex.store.pk)})
    assert response.status_code == 200
    assert "store" in response.context["adminform"].form.errors
    assert not Task.objects.filter(title="Cross-store").exists()


@pytest.mark.parametrize("superuser", [False, True])
def test_every_list_holds_exactly_one_stores_rows(acme, globex, superuser):
    """A store's owner, and a superuser filtered to that store, see all of its rows and none of another's."""
    if superuser:
        client, params = staff(None, None, "root", superuser=True), {"store": str(acme.store.pk)}
    else:
        client, params = staff(acme.store, Membership.Role.OWNER, "owner"), {}
    for model in acme.objects:
        lookup = store_lookup(model)
        response = client.get(list_url(model), params if model is not Store else {})
        shown = {row.pk for row in response.context["cl"].result_list}
        mine = set(model.objects.filter(**{lookup: acme.store.pk}).values_list("pk", flat=True))
        if superuser and model is Store:
            mine |= {globex.store.pk}
        assert shown == mine, model.__name__


def test_the_delivery_list_compares_endpoint_ids_not_a_join_to_the_store(acme, globex):
    client = staff(acme.store, Membership.Role.MANAGER, "manager")
    with CaptureQueriesContext(connection) as queries:
        shown = client.get(list_url(WebhookDelivery)).context["cl"].result_list
    assert {row.endpoint_id for row in shown} == {acme.objects[WebhookDelivery].endpoint_id}
    rows = [query["sql"] for query in queries.captured_queries if '"checkouts_webhookdelivery"' in query["sql"]]
    assert rows
    assert not [sql for sql in rows if '"checkouts_webhookendpoint"."store_id" IN' in sql]
