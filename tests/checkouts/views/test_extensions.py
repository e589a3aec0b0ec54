"""What other apps register (navigation, settings tabs, header widgets, actions, timeline
sources) shows up in the dashboard, filtered by the member's role."""

from datetime import timedelta

import pytest

from checkouts import extensions
from checkouts.extensions import CheckoutAction, NavItem, TimelineEntry
from checkouts.models import Membership

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.checkouts.views.fake_urls")]

Role = Membership.Role


def webhook_deliveries(ac):
    return [
        TimelineEntry(
            at=ac.created_at + timedelta(minutes=30),
            kind="delivery",
            title="Webhook delivered",
            detail="200 OK",
            status="ok",
        )
    ]


@pytest.fixture
def plugin(settings):
    """Register a fake app's pieces, as an AppConfig.ready would, and take them away afterwards."""
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], __file__.rsplit("/", 1)[0] + "/templates"]}
    ]
    items = [
        NavItem("Fake automations", "fake:page", order=50),
        NavItem("Fake owners only", "fake:page", min_role=Role.OWNER, order=60),
        NavItem("Fake webhooks", "fake:page", section="settings", min_role=Role.MANAGER, order=40),
    ]
    actions = [
        CheckoutAction("Nudge the buyer", "fake:nudge", min_role=Role.MANAGER, method="post"),
        CheckoutAction("Nudge selected", "fake:bulk_nudge", min_role=Role.MANAGER, bulk=True, method="post"),
    ]
    for item in items:
        extensions.register_nav(item)
    for action in actions:
        extensions.register_checkout_action(action)
    extensions.register_header_template("fake/bell.html")
    extensions.register_timeline_source(webhook_deliveries)
    yield
    for item in items:
        extensions._nav.remove(item)
    for action in actions:
        extensions._actions.remove(action)
    extensions._header_templates.remove("fake/bell.html")
    extensions._timeline_sources.remove(webhook_deliveries)


def test_registered_navigation_and_header_widgets_render_by_role(plugin, viewer_client, owner_client):
    viewer = viewer_client.get("/").content.decode()
    owner = owner_client.get("/").content.decode()
    assert 'href="/fake/">Fake automations</a>' in viewer and "Fake owners only" not in viewer
    assert "Fake owners only" in owner
    assert "Bell for Acme" in viewer and "Bell for Acme" in owner


def test_registered_settings_tabs_render_by_role(plugin, viewer_client, manager_client):
    assert "Fake webhooks" not in viewer_client.get("/settings/").content.decode()
    assert '<a href="/fake/">Fake webhooks</a>' in manager_client.get("/settings/").content.decode()


def test_registered_detail_actions_and_timeline_sources(plugin, store, viewer_client, manager_client, make_checkout):
    ac = make_checkout(hours_ago=3)
    viewer = viewer_client.get(f"/checkouts/{ac.pk}/").content.decode()
    manager = manager_client.get(f"/checkouts/{ac.pk}/").content.decode()
    assert f'action="/fake/{ac.pk}/nudge/"' in manager and "Nudge the buyer" in manager
    assert "Nudge the buyer" not in viewer
    timeline = viewer[viewer.index('class="timeline"') :]
    assert timeline.index("Checkout abandoned") < timeline.index("Webhook delivered") and "200 OK" in timeline


def test_registered_bulk_actions_post_the_selection(plugin, viewer_client, manager_client, make_checkout):
    make_checkout()
    manager = manager_client.get("/checkouts/").content.decode()
    assert 'formaction="/fake/bulk-nudge/" formmethod="post"' in manager
    assert 'formaction="/checkouts/export.csv"' in manager and 'formaction="/checkouts/bulk/delete/"' in manager
    viewer = viewer_client.get("/checkouts/").content.decode()
    assert "Nudge selected" not in viewer and 'name="ids"' not in viewer


def test_the_active_item_is_the_longest_matching_url(plugin, owner_client):
    html = owner_client.get("/settings/members/").content.decode()
    assert '<a href="/settings/members/" aria-current="page">Members</a>' in html
    assert '<a href="/settings/" aria-current="page">' not in html
    assert 'class="nav-link active" href="/settings/" aria-current="page">Settings</a>' in html


def test_without_the_plugin_nothing_of_it_remains(viewer_client):
    html = viewer_client.get("/").content.decode()
    assert "Fake automations" not in html and "Bell for" not in html
    for label, url in (("Overview", "/"), ("Checkouts", "/checkouts/"), ("Settings", "/settings/")):
        assert f'href="{url}"' in html and f">{label}</a>" in html
