"""A store whose every string is hostile markup: one checkout ingested through the real API,
automations that email, text, notify and create tasks about it, and everything they produced.

Each payload carries its own number, so a leak names the field it came from.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.core import mail
from django.test import Client

from automations.models import (
    Automation,
    AutomationStep,
    ContactPolicy,
    Notification,
    SentEmail,
    StepTranslation,
    Task,
)
from automations.notify.backends import locmem as sms
from automations.services.discount_pool import discount_codes_upload
from checkouts.models import AbandonedCheckout, ApiKey, BulkJob, Connection, Membership, Store, WebhookEndpoint
from checkouts.services import abandoned_checkouts_detect, api_key_create
from checkouts.services.connections import connection_create, connection_error_record
from checkouts.webhooks.services import webhook_endpoint_create
from tests.automations.helpers import dispatch_at
from tests.checkouts.helpers import at, iso
from tests.factories import MembershipFactory, UserFactory

META = '<meta http-equiv=refresh content="0;url=https://phish.example">'


def tag(n: int) -> str:
    return f"<img src=x onerror=alert({n})>"


def attr(n: int) -> str:
    """Breaks out of a quoted attribute."""
    return f'x" onmouseover="alert({n})'


def script(n: int) -> str:
    return f"<script>alert({n})</script>"


def url(n: int) -> str:
    """A URL the ingest API accepts (no whitespace) that breaks out of an href."""
    return f'https://shop.example.com/p?q="><img/src/onerror=alert({n})>'


# Raw, any of these in an HTML response is markup a buyer or a merchant injected.
UNESCAPED = re.compile(
    r'<img src=x onerror|<img/src/onerror|<meta http-equiv=refresh|<script>alert|<svg/onload|" onmouseover="alert',
    re.IGNORECASE,
)
# The same payloads once escaped: a page showing hostile data must show these.
ESCAPED = re.compile(r"&lt;(img src=x onerror|img/src/onerror|meta http-equiv=refresh|script&gt;alert|svg/onload)")

EMAIL = '"<svg/onload=alert(1)>"@example.com'  # a quoted local part: a valid address


def hostile_checkout(external_id: str) -> dict:
    """A checkout.updated body whose every string field the ingest API keeps is hostile."""
    return {
        "id": external_id,
        "cartId": tag(2),
        "buyerInfo": {
            "email": EMAIL,
            "visitorId": tag(3),
            "memberId": tag(4),
            "userId": tag(5),
            "contactId": tag(6),
        },
        "contactDetails": {
            "firstName": META,
            "lastName": script(7) + attr(8),
            "phone": tag(9),
            "company": f'=HYPERLINK("https://phish.example","{tag(10)}")',
            "vatId": {"id": tag(11), "type": "CPF"},
        },
        "buyerLanguage": "<i>",
        "currency": "USD",
        "subtotalPrice": {"amount": "120.00"},
        "totalPrice": {"amount": "120.00"},
        "lineItems": [
            {
                "id": tag(12),
                "quantity": 2,
                "productName": {"original": META + tag(13), "translated": script(14) + tag(15)},
                "catalogReference": {
                    "catalogItemId": tag(16),
                    "appId": tag(17),
                    "options": {tag(18): tag(19)},
                },
                "price": {"amount": "60.00"},
                "descriptionLines": [
                    {
                        "name": {"original": tag(20), "translated": attr(21)},
                        "plainText": {"original": tag(22) + attr(23), "translated": tag(24)},
                    },
                    {"name": {"original": attr(25)}, "colorInfo": {"original": tag(26), "code": attr(27)}},
                ],
                "image": {"id": attr(28), "url": url(29), "width": 240, "height": 240, "altText": attr(30)},
                "physicalProperties": {"sku": tag(31), "shippable": True},
            }
        ],
        "appliedDiscounts": [
            {
                "coupon": {"id": tag(32), "code": tag(33), "name": attr(34) + "x", "amount": {"amount": "5"}},
                "discountType": "GLOBAL",
                "lineItemIds": [tag(35)],
            },
            {
                "discountRule": {
                    "id": tag(36),
                    "name": {"original": tag(37), "translated": attr(38)},
                    "amount": {"amount": "1"},
                }
            },
        ],
        "checkoutUrl": url(39),
    }


@dataclass
class World:
    store: Store
    owner: object
    staff_member: Membership
    automation: Automation
    checkout: AbandonedCheckout
    api_key: ApiKey
    endpoint: WebhookEndpoint
    bulk_job: BulkJob
    connection: Connection
    emails: list = field(default_factory=list)  # every email sent, as the mail backend got it
    texts: list = field(default_factory=list)  # every text message, as the notification backend got it

    def first(self, model):
        return model.objects.filter(store=self.store).order_by("pk").first()


def build_world(traveller) -> World:
    store = Store.objects.create(
        name=f"{META} Shop{attr(40)}{tag(41)}"[:200], storefront_url=url(42), currency="USD", language="en"
    )
    owner = UserFactory(username="owner", first_name=tag(43), last_name=attr(44), email="owner@example.com")
    owner.is_staff = owner.is_superuser = True
    owner.save()
    owner_member = MembershipFactory(store=store, user=owner, role=Membership.Role.OWNER)
    staff = MembershipFactory(
        store=store,
        user=UserFactory(username="staff", first_name=script(45), last_name=tag(46), email="staff@example.com"),
        role=Membership.Role.MANAGER,
    )
    key, raw_key = api_key_create(store=store, name=tag(47), scopes=["read", "ingest"])
    endpoint = webhook_endpoint_create(
        store=store, url=url(48), event_types=["created"], format="standard", description=tag(49), active=False
    )

    Automation.objects.filter(store=store).delete()
    # Every message of the world goes out: no frequency cap, no quiet hours (both tested elsewhere).
    ContactPolicy.objects.create(store=store, window_hours=0, quiet_hours=False)
    automation = Automation.objects.create(store=store, name=tag(50) + attr(51), active=True, require_email=True)
    email = AutomationStep.objects.create(
        automation=automation,
        position=1,
        delay_value=1,
        delay_unit="MINUTES",
        action=AutomationStep.Action.EMAIL_BUYER,
        subject=f"{{{{ first_name }}}} {tag(52)}",
        body=(
            f"Hi {{{{ first_name }}}} {{{{ last_name }}}} {script(53)}\n"
            "{% for i in items %}{{ i.name }} ({{ i.options }}) {{ i.image_url }}\n{% endfor %}"
            "{{ store_name }} {{ store_url }} {{ recovery_url }}"
        ),
    )
    StepTranslation.objects.create(step=email, language="fr", subject=tag(54), body=script(55) + attr(56))
    AutomationStep.objects.create(
        automation=automation,
        position=2,
        delay_value=2,
        delay_unit="MINUTES",
        action=AutomationStep.Action.NOTIFY_BUYER,
        message=f"{tag(57)} {{{{ first_name }}}} {{{{ recovery_url }}}} {{{{ discount_code }}}}",
    )
    notify = AutomationStep.objects.create(
        automation=automation,
        position=3,
        delay_value=3,
        delay_unit="MINUTES",
        action=AutomationStep.Action.NOTIFY_STAFF,
        message=f"{attr(58)} {{{{ buyer_name }}}} {{{{ store_name }}}}",
    )
    notify.notify_members.set([staff, owner_member])
    AutomationStep.objects.create(
        automation=automation,
        position=4,
        delay_value=4,
        delay_unit="MINUTES",
        action=AutomationStep.Action.CREATE_TASK,
        task_title=tag(59) + attr(60),
        task_assignee=staff,
    )

    # A pool of single-use codes that are markup (a code is one word: no spaces, so no tag()):
    # the hand-sent email takes the first, the steps reuse it, and the pool runs low (a notification).
    discount_codes_upload(
        automation=automation,
        data=f'code\n{script(160)}\n<svg/onload=alert(161)>\nx"onmouseover="alert(162)\n'.encode(),
    )

    # The storefront reports the checkout through the ingest API, as a real one would.
    event = {
        "eventId": tag(61),
        "type": "checkout.updated",
        "occurredAt": iso(at(0)),
        # The buyer accepted texts (no text goes out without it).
        "checkout": {**hostile_checkout(tag(1)), "marketingConsent": {"email": True, "sms": True}},
    }
    response = Client().post(
        "/api/v1/checkout-events",
        {"events": [event]},
        content_type="application/json",
        headers={"Authorization": raw_key},
    )
    assert response.status_code == 200, response.content
    traveller.move_to(at(90))
    assert abandoned_checkouts_detect() == 1
    checkout = AbandonedCheckout.objects.get(store=store)

    mail.outbox.clear()
    sms.outbox.clear()
    # A manager sends the recovery email by hand, then the automation runs every step.
    manager = Client()
    manager.force_login(owner)
    assert manager.post(f"/checkouts/{checkout.pk}/recovery-email/").status_code == 302
    dispatch_at(at(90) + timedelta(hours=1))
    traveller.move_to(at(90) + timedelta(hours=2))
    kinds = set(SentEmail.objects.filter(store=store).values_list("kind", flat=True))
    assert kinds == {"MANUAL", "AUTOMATION", "STAFF"}, kinds
    assert Task.objects.filter(store=store).exists() and Notification.objects.filter(store=store).exists()
    assert sms.outbox, "the text message was not sent"
    # A bulk job's page (its ids name nothing: running it must not delete the checkout).
    bulk_job = BulkJob.objects.create(
        store=store, action=BulkJob.Action.DELETE, ids=[str(uuid.uuid4())], created_by=owner
    )
    # A connection whose name, settings and last error (a platform's words) are markup.
    connection = connection_create(
        store=store, platform="shopify", name=tag(152), settings={"shop_domain": attr(153)}, secret=tag(154)
    )
    connection_error_record(connection=connection, message=script(155))
    return World(
        connection=connection,
        store=store,
        owner=owner,
        staff_member=staff,
        automation=automation,
        checkout=checkout,
        api_key=key,
        endpoint=endpoint,
        bulk_job=bulk_job,
        emails=list(mail.outbox),
        texts=list(sms.outbox),
    )
