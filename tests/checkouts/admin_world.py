"""One store with a record of every kind the admin shows, made through the services where they exist."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import models
from django.utils import timezone

from automations.models import (
    Automation,
    AutomationStep,
    Notification,
    ScheduledStep,
    SentEmail,
    Task,
    Unsubscribe,
)
from automations.services import automations_schedule
from checkouts.models import (
    AbandonedCheckout,
    Activity,
    ApiKey,
    Checkout,
    ErasureRecord,
    IngestedEvent,
    Membership,
    Store,
    WebhookDelivery,
    WebhookEvent,
)
from checkouts.services import abandoned_checkout_recover, api_key_create, buyer_erase, store_create
from checkouts.webhooks.services import webhook_endpoint_create
from tests.factories import AbandonedCheckoutFactory, CheckoutFactory, UserFactory

LINE_ITEMS = [
    {
        "id": "li-1",
        "quantity": 2,
        "productName": {"original": "Trail Backpack"},
        "price": {"amount": "103.50", "formattedAmount": "$103.50"},
        "descriptionLines": [{"name": {"original": "Colour"}, "plainText": {"original": "Moss"}}],
        "physicalProperties": {"sku": "TB-01"},
    }
]


@dataclass
class World:
    store: Store
    owner: object
    objects: dict[type[models.Model], models.Model] = field(default_factory=dict)


def build_world(name: str, *, time_zone: str = "UTC") -> World:
    owner = UserFactory(username=f"{name.lower()}-owner")
    store = store_create(name=name, owner=owner, time_zone=time_zone, currency="EUR", language="de")
    automation = Automation.objects.get(store=store)
    step = AutomationStep.objects.filter(automation=automation).first()
    endpoint = webhook_endpoint_create(
        store=store, url="https://hooks.example.com/in", event_types=["recovered", "updated"], format="standard"
    )
    key, _ = api_key_create(store=store, name="app", scopes=["read"])
    checkout = CheckoutFactory(store=store, currency="EUR", total=Decimal("207.00"), line_items=LINE_ITEMS)
    ac = AbandonedCheckoutFactory(
        store=store, checkout=checkout, currency="EUR", total=Decimal("207.00"), line_items=LINE_ITEMS
    )
    ac.latest_activities = []
    automations_schedule(abandoned_checkouts=[ac])
    # A second checkout, recovered: it leaves `recovered` events and their deliveries.
    recovered = AbandonedCheckoutFactory(store=store, currency="EUR")
    abandoned_checkout_recover(abandoned_checkout_id=recovered.pk)
    IngestedEvent.objects.create(store=store, event_id=f"{name}-evt-1", body_hash="0" * 64, outcome="APPLIED")
    erased = AbandonedCheckoutFactory(store=store, buyer_email=f"gone@{name.lower()}.example.com")
    buyer_erase(store=store, email=erased.buyer_email, actor=owner)
    scheduled = ScheduledStep.objects.filter(abandoned_checkout=ac).first()
    task = Task.objects.create(
        store=store, abandoned_checkout=ac, title="Call the buyer", assignee=owner, due_at=timezone.now() + timedelta(1)
    )
    note = Notification.objects.create(store=store, recipient=owner, abandoned_checkout=ac, text="Look at this one")
    unsubscribe = Unsubscribe.objects.create(store=store, email=f"no@{name.lower()}.example.com")
    email = SentEmail.objects.create(
        store=store,
        abandoned_checkout=ac,
        kind=SentEmail.Kind.MANUAL,
        idempotency_key=f"{name}-manual-1",
        message_id=f"<1@{name}>",
        to_email=ac.buyer_email,
        subject="Your cart",
        text_body="Come back",
    )
    objects = {
        Store: store,
        Membership: Membership.objects.get(store=store, user=owner),
        ApiKey: key,
        Checkout: checkout,
        AbandonedCheckout: ac,
        Activity: Activity.objects.filter(abandoned_checkout=ac).first(),
        IngestedEvent: IngestedEvent.objects.get(store=store),
        WebhookEvent: WebhookEvent.objects.filter(store=store).first(),
        ErasureRecord: ErasureRecord.objects.get(store=store),
        type(endpoint): endpoint,
        WebhookDelivery: WebhookDelivery.objects.filter(endpoint=endpoint).first(),
        Automation: automation,
        AutomationStep: step,
        ScheduledStep: scheduled,
        Task: task,
        Notification: note,
        Unsubscribe: unsubscribe,
        SentEmail: email,
    }
    missing = [model.__name__ for model, obj in objects.items() if obj is None]
    assert not missing, f"the world lacks {missing}"
    return World(store=store, owner=owner, objects=objects)


def change_url(obj: models.Model) -> str:
    return f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"


def list_url(model: type[models.Model]) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
