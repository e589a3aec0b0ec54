"""Follow-up tasks: titles with the buyer's details filled in (escaped when shown), closed when
the checkout is recovered, the buyer's contact on the list, and the member's own count in the nav."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.models import Task
from checkouts.models import Membership
from checkouts.services import abandoned_checkout_recover
from tests.automations.helpers import abandon, after, dispatch_at, email_step, only_automation
from tests.factories import AbandonedCheckoutFactory, MembershipFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def task_step(store):
    def make(title: str):
        return email_step(only_automation(store), action="CREATE_TASK", task_title=title)

    return make


def test_a_task_title_renders_its_variables_and_is_escaped_on_the_list(client, store, owner, task_step):
    task_step("Call {{ first_name }} about {{ total }}")
    abandon(store, first_name="<b>Ada</b>", phone="+1 555 0100")
    dispatch_at(after(hours=1))
    task = Task.objects.get()
    assert task.title.startswith("Call <b>Ada</b> about ") and "{{" not in task.title
    client.force_login(owner)
    page = client.get("/tasks/").content.decode()
    assert "Call &lt;b&gt;Ada&lt;/b&gt; about" in page and "<b>Ada</b>" not in page


def test_a_task_shows_the_buyers_email_phone_and_total(client, store, owner):
    ac = AbandonedCheckoutFactory(store=store, buyer_email="ada@example.com", phone="+1 555 0100")
    Task.objects.create(store=store, abandoned_checkout=ac, title="Call Ada", due_at=ac.created_at)
    client.force_login(owner)
    page = client.get("/tasks/").content.decode()
    assert 'href="mailto:ada@example.com"' in page and 'href="tel:+1 555 0100"' in page
    assert "$120.00" in page


def test_recovering_the_checkout_closes_its_open_tasks_and_says_why(client, store, owner, task_step):
    task_step("Call {{ first_name }}")
    (ac,) = abandon(store)
    dispatch_at(after(hours=1))
    abandoned_checkout_recover(abandoned_checkout_id=ac.pk, order_id="o-1")
    task = Task.objects.get()
    assert task.done_at is not None and task.closed_reason == Task.ClosedReason.RECOVERED
    client.force_login(owner)
    assert client.get("/tasks/").context["tasks"] == []
    done = client.get("/tasks/?show=done").content.decode()
    assert "Closed: the checkout was recovered" in done


def test_the_nav_counts_the_members_own_open_tasks_in_one_query(client, store, owner):
    other = MembershipFactory(store=store, role=Membership.Role.MANAGER, user=UserFactory(username="sam")).user
    elsewhere = StoreFactory()
    MembershipFactory(store=elsewhere, user=owner)

    def task(assignee, store=store, done=False):
        ac = AbandonedCheckoutFactory(store=store)
        Task.objects.create(
            store=store,
            abandoned_checkout=ac,
            title="t",
            assignee=assignee,
            due_at=ac.created_at,
            done_at=ac.created_at if done else None,
        )

    task(owner)
    task(other)
    task(owner, done=True)
    task(owner, store=elsewhere)
    client.force_login(owner)

    def nav_badge_and_queries():
        with CaptureQueriesContext(connection) as captured:
            page = client.get("/automations/")
        badges = page.content.decode().split('class="nav-badge"')
        task_queries = [q["sql"] for q in captured if Task._meta.db_table in q["sql"]]
        return (badges[1].split(">")[1].split("<")[0] if len(badges) > 1 else None), len(captured), task_queries

    nav_badge_and_queries()  # the first page of a session also saves the session
    badge, queries, task_queries = nav_badge_and_queries()
    assert badge == "1" and len(task_queries) == 1
    task(owner)
    task(owner)
    badge, more_queries, _ = nav_badge_and_queries()
    assert badge == "3" and more_queries == queries
