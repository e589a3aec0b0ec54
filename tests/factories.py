"""factory_boy factories for the models tests build on."""

import uuid
from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Activity, Checkout, Membership, Store


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("password")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"Store {n}")
    currency = "USD"
    time_zone = "UTC"
    language = "en"
    storefront_url = "https://shop.example.com"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    store = factory.SubFactory(StoreFactory)
    role = Membership.Role.OWNER


class CheckoutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Checkout

    store = factory.SubFactory(StoreFactory)
    external_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    buyer_email = factory.Sequence(lambda n: f"Buyer{n}@Example.com")
    first_name = "Ada"
    last_name = "Lovelace"
    currency = "USD"
    subtotal = Decimal("100.00")
    total = Decimal("100.00")
    last_activity_at = factory.LazyFunction(timezone.now)
    storefront_checkout_url = factory.LazyAttribute(lambda o: f"https://shop.example.com/checkout/{o.external_id}")


class AbandonedCheckoutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AbandonedCheckout

    store = factory.SubFactory(StoreFactory)
    checkout = None
    checkout_external_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    buyer_email = factory.Sequence(lambda n: f"buyer{n}@example.com")
    first_name = "Grace"
    last_name = "Hopper"
    currency = "USD"
    subtotal = Decimal("120.00")
    total = Decimal("120.00")
    created_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=2))
    updated_at = factory.LazyAttribute(lambda o: o.created_at)
    storefront_checkout_url = "https://shop.example.com/checkout/abc"
    line_items = factory.LazyFunction(list)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    abandoned_checkout = factory.SubFactory(AbandonedCheckoutFactory)
    store = factory.LazyAttribute(lambda o: o.abandoned_checkout.store)
    type = Activity.Type.SCHEDULED


# --- automations -------------------------------------------------------------------


class AutomationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "automations.Automation"

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"Automation {n}")
    active = True
    require_email = True


class AutomationStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "automations.AutomationStep"

    automation = factory.SubFactory(AutomationFactory)
    position = factory.Sequence(lambda n: n + 1)
    delay_value = 1
    delay_unit = "HOURS"
    action = "EMAIL_BUYER"
    subject = "{{ first_name }}, your cart is waiting"
    body = "Hi {{ first_name }}, come back to {{ store_name }}."
