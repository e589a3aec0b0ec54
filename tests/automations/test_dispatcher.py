"""The dispatcher, on a frozen clock: every action, every reason a step sends nothing, leases and retries."""

from collections import Counter
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.dispatcher import claim_due_steps
from automations.dispatcher.batch import process_batch
from automations.models import Notification, Reason, ScheduledStep, SendReceipt, SentEmail, Task, Unsubscribe
from automations.notify.backends import locmem as sms
from checkouts.models import AbandonedCheckout, Activity, WebhookEvent
from checkouts.services import abandoned_checkout_anonymise, abandoned_checkout_delete, abandoned_checkout_recover
from tests.automations.helpers import T0, abandon, activities, after, dispatch_at, email_step, one_step, only_automation
from tests.automations.mailers import smtp_mailer
from tests.factories import MembershipFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

State = ScheduledStep.State


@pytest.fixture(autouse=True)
def empty_sms_outbox():
    sms.outbox.clear()


@pytest.fixture
def store():
    return StoreFactory(name="Acme")


@pytest.fixture
def automation(store):
    return only_automation(store, name="Win back")


def test_nothing_runs_before_it_is_due(store, automation):
    email_step(automation, delay_value=1, delay_unit="HOURS")
    (ac,) = abandon(store)
    assert dispatch_at(after(minutes=59)).claimed == 0
    assert mail.outbox == [] and one_step(ac).state == State.PENDING


def test_a_pass_that_ran_steps_says_what_they_did_in_one_log_line(store, automation, caplog):
    email_step(automation, delay_value=1, delay_unit="HOURS")
    abandon(store, 2)
    ScheduledStep.objects.update(holdout=True)
    abandon(store)
    caplog.set_level("INFO", logger="automations.dispatcher")
    dispatch_at(after(minutes=59))
    assert caplog.messages == []  # nothing due: nothing said
    dispatch_at(after(hours=1))
    assert caplog.messages == ["Ran 3 scheduled steps in 1 batch: 2 AUTOMATION_SKIPPED:HOLDOUT, 1 EMAIL_SENT"]


def test_email_buyer_sends_html_and_text_with_links_and_logs_email_sent(store, automation):
    email_step(automation, subject="{{ first_name }}, still thinking?", body="Hi {{ first_name }} — {{ total }} waits.")
    store.storefront_hosts = ["shop.example.com", "cdn.example.com"]  # the store's media host
    store.save()
    (ac,) = abandon(
        store,
        first_name="Grace",
        total=Decimal("120.00"),
        line_items=[
            {
                "quantity": 2,
                "productName": {"original": "Rain Jacket"},
                "price": {"amount": "120"},
                "image": {"url": "https://cdn.example.com/jacket.png"},
            },
            {
                "quantity": 1,
                "productName": {"original": "Hostile Hat"},
                "price": {"amount": "0"},
                "image": {"url": "https://tracker.example.net/pixel.gif?buyer=grace"},
            },
        ],
    )
    report = dispatch_at(after(hours=1))
    assert report.outcomes == {"EMAIL_SENT": 1}
    (message,) = mail.outbox
    assert message.to == [ac.buyer_email] and message.subject == "Grace, still thinking?"
    assert "Hi Grace — $120.00 waits." in message.body
    html = message.alternatives[0].content
    assert "https://cdn.example.com/jacket.png" in html and "Rain Jacket" in html
    # An image off the store's hosts is not put in the store's email.
    assert "Hostile Hat" in html and "tracker.example.net" not in html
    recovery = f"/ecom/v1/abandoned-checkout/{ac.pk}/redirect-to-checkout?metasiteId={store.pk}"
    assert recovery in message.body and recovery in html
    scheduled = one_step(ac)
    assert message.extra_headers["X-Comeback-Idempotency-Key"] == f"step-{scheduled.pk}"
    assert message.extra_headers["Message-ID"].startswith(f"<step-{scheduled.pk}.")
    assert message.extra_headers["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/unsubscribe/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (scheduled.state, scheduled.activity_type) == (State.DONE, "EMAIL_SENT")
    assert Activity.objects.get(detail__scheduledStep=scheduled.pk).type == "EMAIL_SENT"
    assert activities(ac) == [("SCHEDULED", ""), ("EMAIL_SENT", "")]
    sent = SentEmail.objects.get()
    assert (sent.to_email, sent.subject, sent.idempotency_key) == (
        ac.buyer_email,
        message.subject,
        f"step-{scheduled.pk}",
    )
    # The activity reached the webhook outbox as an `updated` event carrying it.
    ac.refresh_from_db()
    event = WebhookEvent.objects.get(entity_id=ac.pk, type="updated")
    assert event.sequence == ac.event_sequence
    assert [a["type"] for a in event.payload["updatedEvent"]["currentEntity"]["activities"]][-1] == "EMAIL_SENT"


def test_email_is_in_the_buyers_language_when_the_step_has_it(store, automation):
    step = email_step(automation, subject="Your cart", body="Come back")
    step.translations.create(language="fr", subject="Votre panier, {{ first_name }}", body="Revenez")
    abandon(store, buyer_language="fr-CA", first_name="Chloé")
    abandon(store, buyer_language="de")
    dispatch_at(after(hours=1))
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == ["Votre panier, Chloé", "Your cart"]


@pytest.mark.parametrize(
    ("arrange", "activity", "reason"),
    [
        ("no_email", "EMAIL_NOT_SENT", Reason.NO_EMAIL),
        ("unsubscribed", "EMAIL_NOT_SENT", Reason.UNSUBSCRIBED),
        ("broken_template", "EMAIL_NOT_SENT", Reason.TEMPLATE_ERROR),
        ("automation_off", "AUTOMATION_SKIPPED", Reason.AUTOMATION_OFF),
        ("condition_no_longer_true", "AUTOMATION_SKIPPED", Reason.CONDITION_NOT_MET),
        ("step_removed", "AUTOMATION_SKIPPED", Reason.STEP_REMOVED),
        ("holdout", "AUTOMATION_SKIPPED", Reason.HOLDOUT),
    ],
)
def test_an_email_step_that_sends_nothing_logs_why(store, automation, arrange, activity, reason):
    automation.require_email = arrange != "no_email"
    automation.save()
    step = email_step(automation)
    (ac,) = abandon(store, buyer_email="" if arrange == "no_email" else "ada@example.com", member_id="m-1")
    if arrange == "unsubscribed":
        Unsubscribe.objects.create(store=store, email="ADA@example.com")
    elif arrange == "broken_template":
        step.body = "{% if %}"
        step.save()
    elif arrange == "automation_off":
        automation.active = False
        automation.save()
    elif arrange == "condition_no_longer_true":
        automation.min_total = Decimal("1000")
        automation.save()
    elif arrange == "step_removed":
        step.archived = True
        step.save()
    elif arrange == "holdout":
        ScheduledStep.objects.update(holdout=True)
    dispatch_at(after(hours=1))
    assert mail.outbox == []
    assert activities(ac) == [("SCHEDULED", ""), (activity, reason)]
    scheduled = one_step(ac)
    assert (scheduled.state, scheduled.reason, scheduled.activity_type) == (State.SKIPPED, reason, activity)
    assert Activity.objects.get(detail__scheduledStep=scheduled.pk).reason == reason


def test_a_step_claimed_before_the_recovery_is_skipped_as_recovered(store, automation):
    email_step(automation)
    (ac,) = abandon(store)
    with time_machine.travel(after(hours=1), tick=False):
        claim_due_steps(now=after(hours=1), batch_size=10)
    # Recovered while the step sat claimed (RUNNING): the cancel receiver leaves it to the dispatcher.
    AbandonedCheckout.objects.filter(pk=ac.pk).update(status="RECOVERED", checkout_recovered_at=after(hours=1))
    report = dispatch_at(after(hours=1, minutes=10))
    assert report.outcomes == {"AUTOMATION_SKIPPED:RECOVERED": 1}
    assert mail.outbox == []
    assert activities(ac)[-1] == ("AUTOMATION_SKIPPED", "RECOVERED")


def test_a_deleted_checkout_leaves_its_steps_skipped(store, automation):
    email_step(automation)
    (ac,) = abandon(store)
    abandoned_checkout_delete(abandoned_checkout_id=ac.pk, store=store)
    scheduled = ScheduledStep.objects.get()
    assert (scheduled.state, scheduled.reason, scheduled.abandoned_checkout_id) == (
        State.SKIPPED,
        Reason.CHECKOUT_DELETED,
        None,
    )
    assert dispatch_at(after(hours=1)).claimed == 0


def test_erasing_the_buyer_cancels_steps_and_blanks_the_sent_emails(store, automation):
    email_step(automation, position=1)
    email_step(automation, position=2, delay_value=3)
    (ac,) = abandon(store)
    dispatch_at(after(hours=1))
    assert SentEmail.objects.get().to_email == ac.buyer_email
    abandoned_checkout_anonymise(abandoned_checkout_id=ac.pk, store=store)
    sent = SentEmail.objects.get()
    assert (sent.to_email, sent.text_body, sent.html_body) == ("", "", "")
    assert ac.buyer_email not in sent.subject
    assert activities(ac)[-1] == ("AUTOMATION_SKIPPED", "BUYER_ERASED")
    assert ScheduledStep.objects.filter(state=State.PENDING).count() == 0


def test_a_send_that_fails_is_retried_later_then_given_up_after_the_last_attempt(store, automation, settings):
    # A real SMTP backend pointed at a port nothing listens on: every send is refused.
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
        }
    }
    settings.COMEBACK_DISPATCH_MAX_ATTEMPTS = 3
    email_step(automation)
    (ac,) = abandon(store)
    assert dispatch_at(after(hours=1)).outcomes == {"RETRY": 1}
    scheduled = one_step(ac)
    assert (scheduled.state, scheduled.attempts, scheduled.due_at) == (State.PENDING, 1, after(hours=1, minutes=1))
    assert "Connection refused" in scheduled.last_error or "Errno" in scheduled.last_error
    assert activities(ac) == [("SCHEDULED", "")]
    assert dispatch_at(after(hours=1, minutes=1)).outcomes == {"RETRY": 1}
    assert one_step(ac).due_at == after(hours=1, minutes=6)
    assert dispatch_at(after(hours=1, minutes=6)).outcomes == {"EMAIL_NOT_SENT:SEND_FAILED": 1}
    scheduled = one_step(ac)
    assert (scheduled.state, scheduled.attempts) == (State.FAILED, 3)
    assert activities(ac) == [("SCHEDULED", ""), ("EMAIL_NOT_SENT", "SEND_FAILED")]


def test_an_address_the_smtp_backend_refuses_fails_its_step_and_the_batch_still_sends(store, automation, settings):
    # Django's SMTP backend cannot send to a non-ASCII local part (it never speaks SMTPUTF8):
    # that step fails for good, and the other emails of the batch go out once and are recorded.
    email_step(automation)
    (first,) = abandon(store, buyer_email="ada@example.com")
    (refused,) = abandon(store, buyer_email="chloé@example.com")
    (last,) = abandon(store, buyer_email="grace@example.com")
    with smtp_mailer(settings) as received:
        report = dispatch_at(after(hours=1))
        assert dispatch_at(after(hours=2)).claimed == 0
    assert report.outcomes == {"EMAIL_SENT": 2, "EMAIL_NOT_SENT:SEND_FAILED": 1}
    assert len(received) == 2
    assert SentEmail.objects.filter(abandoned_checkout__in=[first, last]).count() == 2
    scheduled = one_step(refused)
    assert scheduled.state == State.FAILED and "non-ASCII" in scheduled.last_error
    assert activities(refused) == [("SCHEDULED", ""), ("EMAIL_NOT_SENT", "SEND_FAILED")]


def test_an_expired_lease_is_claimed_again_and_the_step_runs_once(store, automation):
    email_step(automation)
    (ac,) = abandon(store)
    # A worker claims the step and dies: the row stays RUNNING with its lease.
    with time_machine.travel(after(hours=1), tick=False):
        assert claim_due_steps(now=after(hours=1), batch_size=10) == [one_step(ac).pk]
    assert dispatch_at(after(hours=1, minutes=4)).claimed == 0  # the lease (5 min) still holds
    report = dispatch_at(after(hours=1, minutes=6))
    assert report.outcomes == {"EMAIL_SENT": 1}
    scheduled = one_step(ac)
    assert (scheduled.state, scheduled.attempts) == (State.DONE, 2)
    assert len(mail.outbox) == 1
    assert dispatch_at(after(hours=2)).claimed == 0
    assert activities(ac) == [("SCHEDULED", ""), ("EMAIL_SENT", "")]


def test_a_step_whose_email_record_exists_is_not_sent_again(store, automation):
    email_step(automation)
    abandon(store)
    dispatch_at(after(hours=1))
    # Someone puts the finished step back on the schedule by hand.
    ScheduledStep.objects.update(state=State.PENDING)
    dispatch_at(after(hours=2))
    assert len(mail.outbox) == 1 and SentEmail.objects.count() == 1


def test_notify_buyer_texts_through_the_notification_backend(store, automation):
    email_step(automation, action="NOTIFY_BUYER", message="{{ store_name }}: finish here {{ recovery_url }}")
    (ac,) = abandon(store, phone="+15555550100", marketing_consent={"sms": True})
    assert dispatch_at(after(hours=1)).outcomes == {"NOTIFICATION_SENT": 1}
    (text,) = sms.outbox
    assert text.to == "+15555550100" and text.body.startswith("Acme: finish here http://127.0.0.1:8000/ecom/v1/")
    assert text.idempotency_key == f"step-{one_step(ac).pk}"
    assert activities(ac)[-1] == ("NOTIFICATION_SENT", "")


@pytest.mark.parametrize(
    ("phone", "unsubscribed", "reason"), [("", False, Reason.NO_PHONE), ("+1555", True, Reason.OPTED_OUT)]
)
def test_notify_buyer_without_a_phone_or_opted_out_is_skipped(store, automation, phone, unsubscribed, reason):
    email_step(automation, action="NOTIFY_BUYER", message="Come back")
    (ac,) = abandon(store, phone=phone, buyer_email="ada@example.com", marketing_consent={"sms": True})
    if unsubscribed:
        Unsubscribe.objects.create(store=store, email="ada@example.com")
    dispatch_at(after(hours=1))
    assert sms.outbox == []
    assert activities(ac)[-1] == ("AUTOMATION_SKIPPED", reason)


def test_notify_staff_writes_a_notification_and_an_email_per_member(store, automation):
    ann = MembershipFactory(store=store, user=UserFactory(username="ann", email="ann@acme.example"))
    bob = MembershipFactory(store=store, user=UserFactory(username="bob", email=""))
    step = email_step(automation, action="NOTIFY_STAFF", message="A {{ total }} cart from {{ buyer_name }}")
    step.notify_members.set([ann, bob])
    (ac,) = abandon(store, first_name="Grace", last_name="Hopper", total=Decimal("120"))
    assert dispatch_at(after(hours=1)).outcomes == {"NOTIFICATION_SENT": 1}
    notes = Notification.objects.order_by("recipient__username")
    assert [(n.recipient.username, n.text, n.link) for n in notes] == [
        ("ann", "A $120.00 cart from Grace Hopper", f"/checkouts/{ac.pk}/"),
        ("bob", "A $120.00 cart from Grace Hopper", f"/checkouts/{ac.pk}/"),
    ]
    (message,) = mail.outbox
    assert message.to == ["ann@acme.example"] and f"/checkouts/{ac.pk}/" in message.body
    activity = Activity.objects.get(type="NOTIFICATION_SENT")
    assert activity.detail["recipients"] == ["ann", "bob"] and activity.detail["emailed"] == ["ann"]


def test_notify_staff_with_nobody_left_to_notify_is_skipped(store, automation):
    member = MembershipFactory(store=store)
    step = email_step(automation, action="NOTIFY_STAFF", message="Cart")
    step.notify_members.set([member])
    (ac,) = abandon(store)
    member.delete()
    dispatch_at(after(hours=1))
    assert activities(ac)[-1] == ("AUTOMATION_SKIPPED", "NO_RECIPIENTS")


def test_create_task_adds_an_assigned_task_due_later(store, automation):
    ann = MembershipFactory(store=store, user=UserFactory(username="ann"))
    email_step(automation, action="CREATE_TASK", task_title="Call the buyer", task_assignee=ann, task_due_days=2)
    (ac,) = abandon(store)
    assert dispatch_at(after(hours=1)).outcomes == {"TASK_CREATED": 1}
    task = Task.objects.get()
    assert (task.title, task.assignee, task.abandoned_checkout, task.due_at) == (
        "Call the buyer",
        ann.user,
        ac,
        after(hours=1, days=2),
    )
    activity = Activity.objects.get(type="TASK_CREATED")
    assert activity.detail["task"] == task.pk and activity.detail["assignee"] == "ann"


def test_a_batch_costs_the_same_queries_for_5_or_60_due_steps(store, automation):
    email_step(automation)

    def batch_queries(count: int, when) -> int:
        abandon(store, count, when=when)
        due = when + (after(hours=1) - T0)
        with time_machine.travel(due, tick=False), CaptureQueriesContext(connection) as captured:
            outcomes = process_batch(claim_due_steps(now=due, batch_size=100))
        assert outcomes == {"EMAIL_SENT": count}
        return len(captured)

    assert batch_queries(5, T0) == batch_queries(60, after(days=1))


def test_a_batch_past_its_send_budget_hands_the_rest_back_untried(store, automation, settings):
    settings.COMEBACK_DISPATCH_SEND_BUDGET_SECONDS = 0
    email_step(automation)
    (ac,) = abandon(store)
    assert dispatch_at(after(hours=1), max_batches=1).outcomes == {"RELEASED": 1}
    scheduled = one_step(ac)
    assert (scheduled.state, scheduled.attempts, scheduled.due_at) == (State.PENDING, 0, after(hours=1))
    assert mail.outbox == [] and activities(ac) == [("SCHEDULED", "")]


def test_dispatch_writes_exactly_one_activity_per_step(store, automation):
    email_step(automation, position=1, delay_value=1)
    email_step(automation, position=2, delay_value=2)
    checkouts = abandon(store, 30)
    Unsubscribe.objects.create(store=store, email=checkouts[0].email_key)
    dispatch_at(after(hours=3), batch_size=7)
    assert ScheduledStep.objects.filter(state__in=[State.PENDING, State.RUNNING]).count() == 0
    # Each step named by exactly one activity.
    named = Counter(Activity.objects.exclude(type="SCHEDULED").values_list("detail__scheduledStep", flat=True))
    assert named == Counter(ScheduledStep.objects.values_list("pk", flat=True))
    assert len(named) == 60


def test_a_text_the_gateway_refuses_is_retried_then_skipped_as_send_failed(store, automation, settings):
    # The real HTTP backend pointed at a port nothing listens on.
    settings.COMEBACK_NOTIFICATIONS = {
        "BACKEND": "automations.notify.backends.http.Backend",
        "OPTIONS": {"url": "http://127.0.0.1:9/sms", "timeout": 1},
    }
    settings.COMEBACK_DISPATCH_MAX_ATTEMPTS = 2
    email_step(automation, action="NOTIFY_BUYER", message="Come back")
    (ac,) = abandon(store, phone="+15555550100", marketing_consent={"sms": True})
    assert dispatch_at(after(hours=1)).outcomes == {"RETRY": 1}
    assert "SMS gateway unreachable" in one_step(ac).last_error
    assert dispatch_at(after(hours=1, minutes=1)).outcomes == {"AUTOMATION_SKIPPED:SEND_FAILED": 1}
    assert activities(ac) == [("SCHEDULED", ""), ("AUTOMATION_SKIPPED", "SEND_FAILED")]
    assert one_step(ac).state == State.FAILED


def _receipted_after_a_dead_worker(ac) -> ScheduledStep:
    """The step as a worker killed right after its email left leaves it: claimed, lease
    expired, and a receipt naming its key."""
    with time_machine.travel(after(hours=1), tick=False):
        claim_due_steps(now=after(hours=1), batch_size=10)
    scheduled = one_step(ac)
    SendReceipt.objects.create(idempotency_key=scheduled.idempotency_key, message_id="<m@x>", sent_at=after(hours=1))
    return scheduled


def _receipt_of(scheduled: ScheduledStep) -> bool:
    # By key: on PostgreSQL the receipts of other tests' real sends were committed by the
    # dispatcher's own connection and outlive their test's rollback.
    return SendReceipt.objects.filter(idempotency_key=scheduled.idempotency_key).exists()


def test_a_receipted_step_recovered_before_its_retry_leaves_no_receipt(store, automation):
    email_step(automation)
    (ac,) = abandon(store)
    scheduled = _receipted_after_a_dead_worker(ac)
    AbandonedCheckout.objects.filter(pk=ac.pk).update(status="RECOVERED", checkout_recovered_at=after(hours=1))

    report = dispatch_at(after(hours=1, minutes=10))

    assert report.outcomes == {"AUTOMATION_SKIPPED:RECOVERED": 1}
    assert mail.outbox == []
    assert not _receipt_of(scheduled)


def test_a_receipted_step_recorded_on_its_retry_leaves_no_receipt(store, automation):
    email_step(automation)
    (ac,) = abandon(store)
    scheduled = _receipted_after_a_dead_worker(ac)

    report = dispatch_at(after(hours=1, minutes=10))

    # Recorded as sent, not sent again.
    assert report.outcomes == {"EMAIL_SENT": 1}
    assert mail.outbox == [] and SentEmail.objects.count() == 1
    assert not _receipt_of(scheduled)


def test_cancelling_a_step_a_dead_worker_claimed_deletes_its_receipt(store, automation):
    email_step(automation)
    (ac,) = abandon(store)
    scheduled = _receipted_after_a_dead_worker(ac)
    # The expired lease hands it back to the schedule, as the dispatcher's reclaim does.
    ScheduledStep.objects.filter(pk=scheduled.pk).update(state=State.PENDING)

    with time_machine.travel(after(hours=1, minutes=10), tick=False):
        abandoned_checkout_recover(abandoned_checkout_id=ac.pk, order_id="order-1")

    assert one_step(ac).state == State.CANCELLED
    assert not _receipt_of(scheduled)


@pytest.mark.parametrize("variant", ["", "A", "B"])
@pytest.mark.parametrize("with_step", [True, False])
def test_the_dispatchers_sent_email_record_is_the_one_sent_email_makes(store, automation, variant, with_step):
    """`RenderedEmail.sent_email` with the dispatcher's fields skips `Model.__init__`: the same
    instance as `SentEmail(...)`, field for field, relations cached, and saved the same."""
    from automations.messages.render import EmailTemplate, recovery_email
    from automations.models import SentEmail

    email_step(automation, delay_value=1, delay_unit="HOURS")
    (ac,) = abandon(store)
    scheduled = one_step(ac) if with_step else None
    email = recovery_email(
        abandoned_checkout=ac,
        store=store,
        template=EmailTemplate("Hi {{ first_name }}", "Body <b>&</b>"),
        idempotency_key=f"k-{variant}-{with_step}",
    )
    fields = {
        "store_id": store.pk,
        "abandoned_checkout": ac,
        "scheduled_step": scheduled,
        "kind": SentEmail.Kind.AUTOMATION,
        "sent_at": after(hours=1),
        "variant": variant,
    }
    fast = email.sent_email(**fields)
    plain = SentEmail(
        idempotency_key=email.idempotency_key,
        message_id=email.message_id,
        to_email=email.to,
        subject=email.subject,
        text_body=email.text,
        html_body=email.html,
        **fields,
    )
    assert type(fast) is SentEmail
    assert {k: v for k, v in vars(fast).items() if k != "_state"} == {
        k: v for k, v in vars(plain).items() if k != "_state"
    }
    assert (fast._state.adding, fast._state.db, fast._state.fields_cache) == (
        plain._state.adding,
        plain._state.db,
        plain._state.fields_cache,
    )
    assert fast.abandoned_checkout is ac and fast.scheduled_step is scheduled
    SentEmail.objects.bulk_create([fast])
    saved = SentEmail.objects.get(idempotency_key=email.idempotency_key)
    assert [getattr(saved, f.attname) for f in SentEmail._meta.concrete_fields if f.attname != "id"] == [
        getattr(plain, f.attname) for f in SentEmail._meta.concrete_fields if f.attname != "id"
    ]
