"""Admin writes go through the services: recovery, store creation. And what the admin pages show."""

from datetime import UTC
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from automations.models import Automation, ScheduledStep
from checkouts import admin_lists
from checkouts.models import AbandonedCheckout, Membership, Store, WebhookDelivery, WebhookEndpoint, WebhookEvent
from checkouts.templatetags.dashboard import exact_text
from tests.checkouts.admin_forms import form_data, staff
from tests.checkouts.admin_world import build_world, change_url, list_url
from tests.factories import AbandonedCheckoutFactory, UserFactory


@pytest.fixture
def acme(db):
    return build_world("Acme", time_zone="Pacific/Auckland")


def assert_recovered(ac: AbandonedCheckout) -> None:
    ac.refresh_from_db()
    assert ac.status == AbandonedCheckout.Status.RECOVERED
    assert ac.checkout_recovered_at is not None
    assert WebhookEvent.objects.filter(entity_id=ac.pk, type=WebhookEvent.Type.RECOVERED).count() == 1
    steps = ScheduledStep.objects.filter(abandoned_checkout=ac)
    assert steps.exists()
    assert set(steps.values_list("state", flat=True)) == {ScheduledStep.State.CANCELLED}


def test_saving_a_checkout_with_status_recovered_is_no_500_and_changes_nothing(acme):
    manager = staff(None, None, "root", superuser=True)
    ac = acme.objects[AbandonedCheckout]
    data = form_data(manager.get(change_url(ac)).content.decode(), "abandonedcheckout_form")
    data.update(status=["RECOVERED"], _save=["Save"])
    assert manager.post(change_url(ac), data).status_code == 302
    ac.refresh_from_db()
    assert ac.status == AbandonedCheckout.Status.ABANDONED


def test_mark_as_recovered_from_the_list_goes_through_the_lifecycle(acme):
    manager = staff(acme.store, Membership.Role.MANAGER, "manager")
    ac = acme.objects[AbandonedCheckout]
    assert ScheduledStep.objects.filter(abandoned_checkout=ac, state=ScheduledStep.State.PENDING).exists()
    response = manager.post(list_url(AbandonedCheckout), {"action": "mark_recovered", "_selected_action": [ac.pk]})
    assert response.status_code == 302
    assert_recovered(ac)
    # The store's endpoint listens for `recovered`: the event is on its way to it.
    assert WebhookDelivery.objects.filter(entity_id=ac.pk, event_type="recovered").exists()


def test_mark_as_recovered_from_the_checkouts_own_page(acme):
    owner = staff(acme.store, Membership.Role.OWNER, "boss")
    ac = acme.objects[AbandonedCheckout]
    page = owner.get(change_url(ac)).content.decode()
    assert 'value="mark_recovered"' in page
    response = owner.post(change_url(ac), {"CHANGE_FORM-action": "mark_recovered", "_selected_action": [ac.pk]})
    assert response.status_code == 302
    assert_recovered(ac)


def test_a_superuser_creates_a_store_for_a_chosen_owner_with_the_default_automation(db):
    root = staff(None, None, "root", superuser=True)
    merchant = UserFactory(username="merchant")
    data = form_data(root.get(list_url(Store) + "add/").content.decode(), "store_form")
    data.update(name=["Initech"], owner=[str(merchant.pk)], _save=["Save"])
    assert root.post(list_url(Store) + "add/", data).status_code == 302
    store = Store.objects.get(name="Initech")
    assert list(store.memberships.values_list("user__username", "role")) == [("merchant", "OWNER")]
    assert list(Automation.objects.filter(store=store).values_list("name", flat=True)) == ["Recovery email"]
    assert store.webhook_public_key


def test_an_owner_creates_a_store_and_owns_it_a_viewer_may_not(acme):
    owner = staff(acme.store, Membership.Role.OWNER, "boss")
    data = form_data(owner.get(list_url(Store) + "add/").content.decode(), "store_form")
    assert "owner" not in data
    data.update(name=["Boss's second shop"], _save=["Save"])
    assert owner.post(list_url(Store) + "add/", data).status_code == 302
    store = Store.objects.get(name="Boss's second shop")
    assert list(store.memberships.values_list("user__username", "role")) == [("boss", "OWNER")]
    assert Automation.objects.filter(store=store, name="Recovery email").exists()

    viewer = staff(acme.store, Membership.Role.VIEWER, "viewer")
    assert viewer.post(list_url(Store) + "add/", {**data, "name": ["Viewer's shop"]}).status_code == 403
    assert not Store.objects.filter(name="Viewer's shop").exists()


def test_the_admin_shows_money_local_times_names_and_items(acme):
    manager = staff(acme.store, Membership.Role.MANAGER, "manager")
    ac = acme.objects[AbandonedCheckout]
    listing = manager.get(list_url(AbandonedCheckout)).content.decode()
    # In its currency, in the reader's language (English): one language per page, as in the dashboard.
    assert format_currency(Decimal("207.00"), "EUR", locale="en") in listing
    assert "207.0000" not in listing
    assert exact_text(ac.created_at, acme.store) in listing

    deliveries = manager.get(list_url(WebhookDelivery)).content.decode()
    assert "webhook deliveries" in deliveries.lower()
    assert "deliverys" not in deliveries.lower()

    manager.post(list_url(AbandonedCheckout), {"action": "mark_recovered", "_selected_action": [ac.pk]})
    steps = manager.get(list_url(ScheduledStep)).content.decode()
    assert "The checkout was recovered" in steps

    page = manager.get(change_url(ac)).content.decode()
    assert "<td>Trail Backpack</td>" in page
    assert "Colour: Moss" in page
    assert format_currency(Decimal("207.00"), "EUR", locale="en") in page
    assert 'name="last_activity_type"' not in page
    local = timezone.localtime(ac.created_at, acme.store.zone)
    assert date_format(local, "DATETIME_FORMAT") in page
    assert date_format(timezone.localtime(ac.created_at, UTC), "DATETIME_FORMAT") not in page


def test_the_store_filter_offers_the_users_stores_and_narrows_the_list(acme):
    globex = build_world("Globex")
    root = staff(None, None, "root", superuser=True)
    page = root.get(list_url(AbandonedCheckout), {"store": str(acme.store.pk)})
    rows = {row.pk for row in page.context["cl"].result_list}
    assert rows == set(AbandonedCheckout.objects.filter(store=acme.store).values_list("pk", flat=True))
    manager = staff(globex.store, Membership.Role.MANAGER, "manager")
    spec = next(
        spec for spec in manager.get(list_url(AbandonedCheckout)).context["cl"].filter_specs if spec.title == "store"
    )
    assert spec.lookup_choices == [(str(globex.store.pk), "Globex")]


def changelist_queries(client, **params) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(list_url(AbandonedCheckout), params).status_code == 200
    return [query["sql"] for query in queries.captured_queries]


@pytest.mark.parametrize("superuser", [False, True])
def test_the_changelist_runs_a_constant_number_of_queries_and_no_distinct(acme, superuser):
    client = (
        staff(None, None, "root", superuser=True) if superuser else staff(acme.store, Membership.Role.VIEWER, "viewer")
    )
    params = {"store": str(acme.store.pk)} if superuser else {}
    changelist_queries(client, **params)  # the first request also picks the session's store
    few = changelist_queries(client, **params)
    AbandonedCheckoutFactory.create_batch(30, store=acme.store, currency="EUR")
    many = changelist_queries(client, **params)
    assert len(many) == len(few)
    table = AbandonedCheckout._meta.db_table
    assert not [sql for sql in many if "DISTINCT" in sql.upper() and table in sql]


def test_a_deep_page_holds_the_rows_of_its_position(acme):
    viewer = staff(acme.store, Membership.Role.VIEWER, "viewer")
    AbandonedCheckoutFactory.create_batch(105, store=acme.store, currency="EUR")
    expected = list(
        AbandonedCheckout.objects.filter(store=acme.store).order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    pages = [viewer.get(list_url(AbandonedCheckout), {"p": p}).context["cl"].result_list for p in (1, 2)]
    assert [row.pk for page in pages for row in page] == expected


def test_an_endpoint_made_in_the_admin_has_a_secret_and_an_internal_url_is_refused(acme):
    manager = staff(acme.store, Membership.Role.MANAGER, "manager")
    add = {
        "store": str(acme.store.pk),
        "url": "http://127.0.0.1:8000/hook",
        "description": "internal",
        "event_types": ["recovered"],
        "format": "standard",
        "active": "on",
        "_save": "Save",
    }
    response = manager.post(list_url(WebhookEndpoint) + "add/", add)
    assert response.status_code == 200
    assert "url" in response.context["adminform"].form.errors
    assert not WebhookEndpoint.objects.filter(description="internal").exists()

    endpoint = acme.objects[WebhookEndpoint]
    data = form_data(manager.get(change_url(endpoint)).content.decode(), "webhookendpoint_form")
    data.update(url=["http://169.254.169.254/latest"], _save=["Save"])
    assert manager.post(change_url(endpoint), data).status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/in"
    assert endpoint.secret.startswith(WebhookEndpoint.SECRET_PREFIX)


def test_every_add_page_a_superuser_may_use_opens(acme):
    root = staff(None, None, "root", superuser=True)
    for model in acme.objects:
        response = root.get(list_url(model) + "add/")
        assert response.status_code in (200, 403), (model.__name__, response.status_code)


def test_past_the_exact_count_limit_the_list_still_pages(acme, monkeypatch):
    monkeypatch.setattr(admin_lists, "EXACT_COUNT_LIMIT", 5)
    viewer = staff(acme.store, Membership.Role.VIEWER, "viewer")
    AbandonedCheckoutFactory.create_batch(12, store=acme.store, currency="EUR")
    rows = AbandonedCheckout.objects.filter(store=acme.store).count()
    changelist = viewer.get(list_url(AbandonedCheckout)).context["cl"]
    assert len(changelist.result_list) == rows
    # Beyond the limit the count is PostgreSQL's estimate (never below what was counted); SQLite counts.
    assert changelist.result_count >= 6


def test_a_list_decrypts_no_secret(acme):
    """Rows come without their own or their store's encrypted columns: no Fernet work per row."""
    root = staff(None, None, "root", superuser=True)
    checkout = root.get(list_url(AbandonedCheckout)).context["cl"].result_list[0]
    assert "webhook_private_key" in checkout.store.get_deferred_fields()
    endpoint = root.get(list_url(WebhookEndpoint)).context["cl"].result_list[0]
    assert {"secret", "previous_secret"} <= endpoint.get_deferred_fields()
    assert "webhook_private_key" in endpoint.store.get_deferred_fields()
