"""The automations pages: list with counts, create and edit with steps, on/off, preview, test email."""

import pytest
from django.core import mail
from django.urls import reverse

from automations.models import Automation, AutomationStep, HoldoutChange, StepTranslation
from checkouts import extensions
from checkouts.models import Membership
from tests.automations.browser_form import form_submission
from tests.automations.helpers import abandon, after, dispatch_at, email_step, only_automation
from tests.factories import AbandonedCheckoutFactory, MembershipFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(store):
    return MembershipFactory(store=store, role=Membership.Role.MANAGER, user=UserFactory(username="mia")).user


@pytest.fixture
def viewer(store):
    return MembershipFactory(store=store, role=Membership.Role.VIEWER, user=UserFactory(username="vic")).user


def step_data(index: int, **fields) -> dict:
    base = {
        "position": index + 1,
        "delay_value": 1,
        "delay_unit": "HOURS",
        "action": "EMAIL_BUYER",
        "subject": "Hi {{ first_name }}",
        "body": "Come back to {{ store_name }}",
        "message": "",
        "task_title": "",
        "task_assignee": "",
        "task_due_days": 1,
    }
    base.update(fields)
    return {f"steps-{index}-{key}": value for key, value in base.items()}


def form_data(steps: list[dict], *, initial: int = 0, **automation) -> dict:
    data = {
        "name": "Two touches",
        "active": "on",
        "require_email": "on",
        "holdout_percent": 10,
        "min_total": "",
        "steps-TOTAL_FORMS": len(steps),
        "steps-INITIAL_FORMS": initial,
        "steps-MIN_NUM_FORMS": 0,
        "steps-MAX_NUM_FORMS": 1000,
    }
    data.update(automation)
    for part in steps:
        data.update(part)
    return data


def test_the_dashboard_registry_has_the_pages_and_the_recovery_email_actions():
    assert {item.url_name for item in extensions.nav_items()} >= {"automations:list", "automations:tasks"}
    assert "automations/includes/bell.html" in extensions.header_templates()
    detail = {a.url_name: a for a in extensions.checkout_actions(bulk=False)}
    bulk = {a.url_name: a for a in extensions.checkout_actions(bulk=True)}
    assert detail["automations:recovery_email"].min_role == Membership.Role.MANAGER
    assert bulk["automations:recovery_email_bulk"].method == "post"


def test_the_list_shows_counts_with_a_constant_number_of_queries(client, store, owner):
    automation = only_automation(store, name="Win back")
    email_step(automation)
    abandon(store, 3)
    dispatch_at(after(hours=1))
    client.force_login(owner)
    response = client.get("/automations/")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [(a.name, c.scheduled, c.sent, c.skipped) for a, c in rows] == [("Win back", 3, 3, 0)]
    one = _query_count(client)
    for n in range(4):
        email_step(Automation.objects.create(store=store, name=f"More {n}"), position=1)
        email_step(Automation.objects.get(name=f"More {n}"), position=2)
    assert _query_count(client) == one


def _query_count(client) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get("/automations/").status_code == 200
    return len(captured)


def test_a_manager_creates_an_automation_with_two_steps(client, store, manager):
    client.force_login(manager)
    assert client.get("/automations/new/").status_code == 200
    data = form_data(
        [step_data(0, delay_value=30, delay_unit="MINUTES"), step_data(1, action="CREATE_TASK", task_title="Call")]
    )
    response = client.post("/automations/new/", data)
    automation = Automation.objects.get(store=store, name="Two touches")
    assert response.status_code == 302 and response["Location"] == f"/automations/{automation.pk}/"
    assert automation.holdout_percent == 10
    assert list(automation.steps.values_list("position", "action", "delay_value", "delay_unit")) == [
        (1, "EMAIL_BUYER", 30, "MINUTES"),
        (2, "CREATE_TASK", 1, "HOURS"),
    ]


def test_a_broken_template_is_refused_with_the_reason(client, store, manager):
    client.force_login(manager)
    response = client.post("/automations/new/", form_data([step_data(0, body="Hi {% if %}")]))
    assert response.status_code == 400
    assert "This template does not work" in response.content.decode()
    assert not Automation.objects.filter(name="Two touches").exists()


def test_an_automation_needs_a_step_and_a_holdout_of_at_most_half(client, store, manager):
    client.force_login(manager)
    response = client.post("/automations/new/", form_data([], holdout_percent=60))
    assert response.status_code == 400
    body = response.content.decode()
    assert "An automation needs at least one step." in body and "less than or equal to 50" in body


def test_editing_reorders_and_removes_steps(client, store, manager):
    automation = only_automation(store, name="Seq")
    first = email_step(automation, position=1, subject="First")
    second = email_step(automation, position=2, subject="Second")
    gone = email_step(automation, position=3, subject="Gone")
    client.force_login(manager)
    steps = [
        {**step_data(0, position=2, subject="First"), "steps-0-id": first.pk},
        {**step_data(1, position=1, subject="Second"), "steps-1-id": second.pk},
        {**step_data(2, position=3, subject="Gone"), "steps-2-id": gone.pk, "steps-2-DELETE": "on"},
    ]
    response = client.post(f"/automations/{automation.pk}/edit/", form_data(steps, initial=3, name="Seq"))
    assert response.status_code == 302
    live = automation.steps.filter(archived=False).order_by("position")
    assert [s.subject for s in live] == ["Second", "First"]
    # Removed steps are archived, so what they already scheduled still resolves.
    assert AutomationStep.objects.get(pk=gone.pk).archived


def test_viewers_look_but_do_not_touch(client, store, viewer):
    automation = only_automation(store)
    email_step(automation)
    client.force_login(viewer)
    assert client.get("/automations/").status_code == 200
    assert client.get(f"/automations/{automation.pk}/").status_code == 200
    assert client.get("/automations/new/").status_code == 403
    assert client.post(f"/automations/{automation.pk}/active/", {"active": "0"}).status_code == 403
    assert Automation.objects.get(pk=automation.pk).active


def test_turning_an_automation_off_and_on(client, store, manager):
    automation = only_automation(store)
    client.force_login(manager)
    client.post(f"/automations/{automation.pk}/active/", {"active": "0"})
    assert not Automation.objects.get(pk=automation.pk).active
    client.post(f"/automations/{automation.pk}/active/", {"active": "1"})
    assert Automation.objects.get(pk=automation.pk).active


def test_another_stores_automation_is_a_404(client, store, owner):
    other = only_automation(StoreFactory(name="Other"))
    email_step(other)
    client.force_login(owner)
    for url in (f"/automations/{other.pk}/", f"/automations/{other.pk}/edit/", f"/automations/{other.pk}/preview/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/automations/{other.pk}/active/", {"active": "0"}).status_code == 404


def test_preview_renders_the_email_for_a_real_checkout(client, store, owner):
    automation = only_automation(store)
    step = email_step(automation, subject="For {{ first_name }}")
    ac = AbandonedCheckoutFactory(store=store, first_name="Linus", buyer_email="linus@example.com")
    client.force_login(owner)
    response = client.get(f"/automations/{automation.pk}/preview/?step={step.pk}")
    assert response.status_code == 200
    assert response.context["email"].subject == "For Linus" and response.context["checkout"] == ac
    frame = client.get(f"/automations/{automation.pk}/preview/html/?step={step.pk}&checkout={ac.pk}")
    assert frame.status_code == 200 and "For Linus" in frame.content.decode()
    assert "'unsafe-inline'" in frame["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in frame["Content-Security-Policy"]
    assert frame["X-Frame-Options"] == "SAMEORIGIN"


def test_a_test_email_goes_to_the_merchant_with_their_own_unsubscribe_link(client, store, owner):
    automation = only_automation(store)
    step = email_step(automation, subject="For {{ first_name }}")
    ac = AbandonedCheckoutFactory(store=store, first_name="Linus")
    client.force_login(owner)
    response = client.post(f"/automations/{automation.pk}/test-email/", {"step": step.pk, "checkout": ac.pk})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == [owner.email] and message.subject == "[Test] For Linus"
    from automations.messages.render import unsubscribe_token_read

    token = message.extra_headers["List-Unsubscribe"].split("/unsubscribe/")[1].rstrip("/>")
    assert unsubscribe_token_read(token) == (str(store.pk), owner.email)


def test_translations_are_saved_per_language(client, store, manager):
    automation = only_automation(store)
    step = email_step(automation)
    client.force_login(manager)
    url = f"/automations/{automation.pk}/steps/{step.pk}/translations/"
    assert client.get(url).status_code == 200
    data = {
        "translations-TOTAL_FORMS": 1,
        "translations-INITIAL_FORMS": 0,
        "translations-MIN_NUM_FORMS": 0,
        "translations-MAX_NUM_FORMS": 1000,
        "translations-0-language": "pt_BR",
        "translations-0-subject": "Olá {{ first_name }}",
        "translations-0-body": "Volte",
    }
    assert client.post(url, data).status_code == 302
    assert StepTranslation.objects.get(step=step).language == "pt-br"


def test_the_detail_page_reports_the_holdout_comparison(client, store, owner):
    automation = only_automation(store, holdout_percent=20)
    email_step(automation)
    client.force_login(owner)
    response = client.get(reverse("automations:detail", args=[automation.pk]))
    assert "Not enough data yet: 0 contacted and 0 held-out checkouts so far." in response.content.decode()


def test_saving_an_automation_unchanged_twice_keeps_its_steps(client, store, owner):
    """The spare step form stays empty: posting the page back as rendered adds no step."""
    automation = only_automation(store, name="Win back")
    email_step(automation, position=1)
    email_step(automation, position=2)
    client.force_login(owner)
    url = reverse("automations:edit", args=[automation.pk])
    for _ in range(2):
        page = client.get(url)
        response = client.post(url, form_submission(page.content, "automation-form"))
        assert response.status_code == 302, response.content.decode()[:2000]
        assert automation.steps.filter(archived=False).count() == 2


def test_a_changed_holdout_share_is_noted_once(client, store, manager):
    automation = only_automation(store, name="Seq", holdout_percent=10)
    step = email_step(automation, position=1)
    client.force_login(manager)
    url = f"/automations/{automation.pk}/edit/"
    steps = [{**step_data(0), "steps-0-id": step.pk}]
    for share in (20, 20):
        assert client.post(url, form_data(steps, initial=1, name="Seq", holdout_percent=share)).status_code == 302
    assert list(HoldoutChange.objects.values_list("automation", "before", "after")) == [(automation.pk, 10, 20)]
