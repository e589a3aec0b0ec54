"""Tasks, notifications, sent emails and the public unsubscribe page."""

from datetime import timedelta

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import timezone

from automations.messages.render import unsubscribe_token
from automations.models import Notification, SentEmail, Task, Unsubscribe
from checkouts.models import Membership
from tests.factories import AbandonedCheckoutFactory, MembershipFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(store):
    return MembershipFactory(store=store, role=Membership.Role.MANAGER, user=UserFactory(username="ann")).user


@pytest.fixture
def viewer(store):
    return MembershipFactory(store=store, role=Membership.Role.VIEWER, user=UserFactory(username="vic")).user


def make_task(store, title, *, assignee=None, done=False, due_in_days=1):
    return Task.objects.create(
        store=store,
        abandoned_checkout=AbandonedCheckoutFactory(store=store),
        title=title,
        assignee=assignee,
        due_at=timezone.now() + timedelta(days=due_in_days),
        done_at=timezone.now() if done else None,
    )


def titles(response) -> list[str]:
    return [task.title for task in response.context["tasks"]]


def test_the_task_list_filters_open_mine_and_done(client, store, owner, ann):
    make_task(store, "Call Ada", assignee=ann, due_in_days=2)
    make_task(store, "Check stock", assignee=owner, due_in_days=1)
    make_task(store, "Old one", done=True)
    make_task(StoreFactory(), "Another store's")
    client.force_login(owner)
    assert titles(client.get("/tasks/")) == ["Check stock", "Call Ada"]
    assert titles(client.get("/tasks/?show=mine")) == ["Check stock"]
    assert titles(client.get("/tasks/?show=done")) == ["Old one"]


def test_the_task_list_pages_with_a_cursor(client, store, owner, django_assert_max_num_queries):
    for n in range(55):
        make_task(store, f"Task {n:02}", due_in_days=n + 1)
    client.force_login(owner)
    with django_assert_max_num_queries(12):
        first = client.get("/tasks/")
    assert len(first.context["tasks"]) == 50
    second = client.get("/tasks/" + first.context["pager"].next_url)
    assert titles(second) == [f"Task {n:02}" for n in range(50, 55)]


def test_marking_a_task_done_and_reopening_it(client, store, viewer):
    task = make_task(store, "Call Ada")
    client.force_login(viewer)
    assert client.post(f"/tasks/{task.pk}/done/", {"done": "1"}).status_code == 302
    task.refresh_from_db()
    assert task.is_done and task.done_by == viewer
    client.post(f"/tasks/{task.pk}/done/", {"done": "0"})
    task.refresh_from_db()
    assert not task.is_done


def test_assigning_needs_a_manager_and_a_member_of_the_store(client, store, ann, viewer):
    task = make_task(store, "Call Ada")
    outsider = MembershipFactory(store=StoreFactory())
    client.force_login(viewer)
    assert client.post(f"/tasks/{task.pk}/assign/", {"assignee": ""}).status_code == 403
    client.force_login(ann)
    membership = Membership.objects.get(store=store, user=ann)
    client.post(f"/tasks/{task.pk}/assign/", {"assignee": membership.pk})
    task.refresh_from_db()
    assert task.assignee == ann
    client.post(f"/tasks/{task.pk}/assign/", {"assignee": outsider.pk})
    task.refresh_from_db()
    assert task.assignee == ann


def test_another_stores_task_is_a_404(client, store, owner):
    task = make_task(StoreFactory(), "Theirs")
    client.force_login(owner)
    assert client.post(f"/tasks/{task.pk}/done/").status_code == 404


def test_notifications_list_open_and_mark_read(client, store, owner):
    ac = AbandonedCheckoutFactory(store=store)
    first = Notification.objects.create(store=store, recipient=owner, text="A cart", link=f"/checkouts/{ac.pk}/")
    Notification.objects.create(store=store, recipient=owner, text="Another")
    Notification.objects.create(store=store, recipient=UserFactory(), text="Not mine")
    client.force_login(owner)
    response = client.get("/notifications/")
    assert [n.text for n in response.context["notifications"]] == ["Another", "A cart"]
    opened = client.get(f"/notifications/{first.pk}/")
    assert opened["Location"] == f"/checkouts/{ac.pk}/"
    assert Notification.objects.get(pk=first.pk).is_read
    client.post("/notifications/read/")
    assert not Notification.objects.filter(recipient=owner, read_at__isnull=True).exists()


def test_the_bell_shows_the_unread_count(store, owner):
    for _ in range(3):
        Notification.objects.create(store=store, recipient=owner, text="A cart")
    request = RequestFactory().get("/")
    request.user, request.store = owner, store
    template = engines["django"].from_string('{% include "automations/includes/bell.html" %}')
    html = template.render({}, request)
    assert 'aria-label="Notifications: 3 unread"' in html and "data-unread>3<" in html
    Notification.objects.update(read_at=timezone.now())
    assert "data-unread" not in template.render({}, request)


def test_sent_emails_are_readable_by_the_merchant(client, store, owner):
    email = SentEmail.objects.create(
        store=store,
        kind=SentEmail.Kind.AUTOMATION,
        idempotency_key="step-1",
        message_id="<step-1@x>",
        to_email="ada@example.com",
        subject="Your cart",
        text_body="Come back",
        html_body="<p style='color:red'>Come back</p>",
    )
    client.force_login(owner)
    listing = client.get("/emails/")
    assert [e.subject for e in listing.context["emails"]] == ["Your cart"]
    detail = client.get(f"/emails/{email.pk}/")
    assert "ada@example.com" in detail.content.decode() and "Come back" in detail.content.decode()
    html = client.get(f"/emails/{email.pk}/html/")
    assert html.content == b"<p style='color:red'>Come back</p>"
    other = SentEmail.objects.create(
        store=StoreFactory(), kind="TEST", idempotency_key="t", message_id="m", to_email="x", subject="s", text_body="b"
    )
    assert client.get(f"/emails/{other.pk}/").status_code == 404


def test_the_unsubscribe_page_confirms_then_unsubscribes(client, store):
    url = f"/unsubscribe/{unsubscribe_token(store_id=store.pk, email='Ada@Example.com')}/"
    page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert f"Stop reminders from {store.name}?" in text and "ada@example.com" in text
    assert not Unsubscribe.objects.exists()
    done = client.post(url)
    assert "You're unsubscribed" in done.content.decode()
    assert Unsubscribe.objects.get().email == "ada@example.com"
    assert client.post(url).status_code == 200
    assert Unsubscribe.objects.count() == 1


def test_one_click_unsubscribe_from_the_mail_client(client, store):
    url = f"/unsubscribe/{unsubscribe_token(store_id=store.pk, email='ada@example.com')}/"
    response = client.post(url, {"List-Unsubscribe": "One-Click"}, enforce_csrf_checks=True)
    assert response.status_code == 200
    assert Unsubscribe.objects.get().source == Unsubscribe.Source.ONE_CLICK


def test_a_forged_unsubscribe_link_is_a_404(client, store):
    token = unsubscribe_token(store_id=store.pk, email="ada@example.com")
    assert client.get(f"/unsubscribe/{token[:-2]}xx/").status_code == 404
    assert client.post(f"/unsubscribe/{token[:-2]}xx/").status_code == 404
    assert not Unsubscribe.objects.exists()


def test_the_checkout_timeline_links_its_emails_and_tasks(store, django_assert_num_queries):
    from checkouts import extensions

    ac = AbandonedCheckoutFactory(store=store)
    email = SentEmail.objects.create(
        store=store,
        abandoned_checkout=ac,
        kind=SentEmail.Kind.AUTOMATION,
        idempotency_key="step-9",
        message_id="<m>",
        to_email=ac.buyer_email,
        subject="Your cart",
        text_body="x",
    )
    make_task(store, "Call Ada").delete()
    Task.objects.create(store=store, abandoned_checkout=ac, title="Call Ada", due_at=timezone.now())
    (source,) = [s for s in extensions.timeline_sources() if s.__module__ == "automations.timeline"]
    with django_assert_num_queries(2):
        entries = source(ac)
    assert [(e.kind, e.title, e.url) for e in entries] == [
        ("email", "Email: Your cart", f"/emails/{email.pk}/"),
        ("task", "Task: Call Ada", "/tasks/"),
    ]
