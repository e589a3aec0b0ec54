"""The crawl: every page a person can open (dashboard, public pages, admin), with real objects.

`Site.build()` writes two stores with a bit of everything; `Site.pages()` walks the URL patterns
and fills each one's parameters from those objects. A new page whose parameters nobody declared
here fails the crawl until someone says how to fill them, so no page is left out quietly.
"""

import random
from dataclasses import dataclass, field

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from automations.messages.render import unsubscribe_token
from automations.models import Automation, Notification, SentEmail, Task
from automations.services.records import notification_create
from checkouts.models import AbandonedCheckout, BulkJob, Membership, Store, WebhookDelivery
from checkouts.services import api_key_create, bulk_job_create, invitation_create, store_create
from checkouts.services.connections import connection_create
from checkouts.services.invitations import invitation_token
from checkouts.webhooks.services import webhook_endpoint_create
from config.demo import checkouts as demo

# Query strings nobody should send, sent to every page: bad numbers, bad cursors, bad dates,
# lone surrogates, a huge search, a hostile `next`, admin's own parameters gone wrong.
ODD_QUERIES = [
    "?page=-1&per_page=999999999&after=%00forged&before=..&q=%ED%A0%80&status=NOPE&period=99y"
    "&total_min=1e999&total_max=-0&sort=__&currency=%0A&start=9999-99-99&end=0000-00-00&state=x&event_type=%FF",
    "?q=" + "x" * 3000 + "&o=-99&p=-5&e=1&all=&_popup=1&next=javascript:alert(1)&return=//evil.example",
    "?after=" + "A" * 300 + "&before=" + "%E2%80%AE" * 40 + "&step=999999999999999999999&checkout=not-a-uuid",
]

NAMESPACES = {"checkouts", "automations", "webhooks", "connections"}
# Pages that are not pages: they only take POSTs, log out, or download a file.
NOT_PAGES = {
    "checkouts:logout",
    "checkouts:store_switch",
    "checkouts:export",
    "checkouts:member_change",
    "checkouts:member_remove",
    "checkouts:invitation_revoke",
    "checkouts:api_key_revoke",
    "checkouts:bulk_delete",
    "checkouts:bulk_anonymise",
    "checkouts:bulk_confirm",
    "webhooks:rotate-secret",
    "webhooks:test",
    "webhooks:redeliver-failed",
    "webhooks:redeliver",
    "connections:test",
    "connections:backfill",
    "connections:pause",
    "connections:resume",
    "connections:rotate",
    "automations:active",
    "automations:test_email",
    "automations:task_done",
    "automations:task_assign",
    "automations:notifications_read",
    "automations:recovery_email_bulk",
    "automations:text_opt_out",
    # A 1×1 GIF, not a page (a browser shows it in a document of its own inline styles);
    # tests/automations/test_engagement.py covers it.
    "automations:open_pixel",
}


@dataclass
class Site:
    store: Store
    other: Store
    users: dict[str, object] = field(default_factory=dict)
    objects: dict[str, object] = field(default_factory=dict)

    @classmethod
    def build(cls, *, count: int = 60) -> "Site":
        now = timezone.now()
        store = store_create(name="Crawl Outfitters", currency="USD", language="en", time_zone="America/New_York")
        other = store_create(name="Other Store", currency="EUR", language="fr", time_zone="Europe/Paris")
        for each, seed in ((store, 1), (other, 2)):
            demo.generate(each, count=count, rnd=random.Random(seed), now=now, automation_history=True)
        site = cls(store=store, other=other)
        model = get_user_model()
        for role in Membership.Role.values:
            user = model.objects.create_user(f"crawl-{role.lower()}", f"{role.lower()}@example.com", "pw-crawl-1")
            Membership.objects.create(user=user, store=store, role=role)
            site.users[role] = user
        staff = model.objects.create_user("crawl-staff", "staff@example.com", "pw-crawl-1", is_staff=True)
        Membership.objects.create(user=staff, store=store, role=Membership.Role.MANAGER)
        site.users["STAFF"] = staff
        site.users["SUPERUSER"] = model.objects.create_superuser("crawl-admin", "admin@example.com", "pw-crawl-1")
        Membership.objects.create(user=site.users["SUPERUSER"], store=other, role=Membership.Role.OWNER)
        site._objects()
        return site

    def _objects(self) -> None:
        store, owner = self.store, self.users[Membership.Role.OWNER]
        ac, spare = AbandonedCheckout.objects.filter(store=store).exclude(buyer_email="").order_by("-created_at")[:2]
        endpoint = webhook_endpoint_create(
            store=store, url="https://hooks.example.com/in", event_types=["created", "recovered"], format="standard"
        )
        automation = Automation.objects.filter(store=store).first()
        task = Task.objects.create(
            store=store, abandoned_checkout=ac, title="Call {{ first_name }}", due_at=timezone.now()
        )
        notification = notification_create(store=store, recipient=owner, text="A crawl notice", link="/")
        invitation, _ = invitation_create(store=store, email="new@example.com", role="VIEWER", invited_by=owner)
        key, _ = api_key_create(store=store, name="crawl", scopes=["read"])
        self.objects = {
            "checkout": ac,
            # The job deletes a checkout of its own (the worker may run it), never the one above.
            "job": bulk_job_create(store=store, action=BulkJob.Action.DELETE, ids=[spare.pk]),
            "membership": Membership.objects.get(store=store, user=owner),
            "key": key,
            "invitation": invitation,
            "endpoint": endpoint,
            "connection": connection_create(store=store, platform="shopify", name="Crawl shop", secret="crawl-secret"),
            "delivery": WebhookDelivery.objects.filter(endpoint=endpoint).first(),
            "automation": automation,
            "step": automation.steps.first(),
            "task": task,
            "notification": notification or Notification.objects.filter(store=store).first(),
            "email": SentEmail.objects.filter(store=store).first(),
        }

    def fill(self, name: str) -> dict | None:
        """The URL kwargs of the page `name`, from the site's objects; None: not a GET page."""
        o = self.objects
        known = {
            "checkouts:detail": {"pk": o["checkout"].pk},
            "checkouts:delete": {"pk": o["checkout"].pk},
            "checkouts:anonymise": {"pk": o["checkout"].pk},
            "checkouts:bulk_job": {"pk": o["job"].pk},
            "checkouts:password_reset_confirm": {"uidb64": "MQ", "token": "set-password"},
            "checkouts:invitation": {"token": invitation_token(o["invitation"])},
            "webhooks:detail": {"pk": o["endpoint"].pk},
            "webhooks:update": {"pk": o["endpoint"].pk},
            "webhooks:delete": {"pk": o["endpoint"].pk},
            "connections:detail": {"pk": o["connection"].pk},
            "connections:delete": {"pk": o["connection"].pk},
            "connections:edit": {"pk": o["connection"].pk},
            "connections:create": {"platform": "shopify"},
            "automations:detail": {"pk": o["automation"].pk},
            "automations:edit": {"pk": o["automation"].pk},
            "automations:discount": {"pk": o["automation"].pk},
            "automations:preview": {"pk": o["automation"].pk},
            "automations:preview_html": {"pk": o["automation"].pk},
            "automations:translations": {"pk": o["automation"].pk, "step_pk": o["step"].pk},
            "automations:notification_open": {"pk": o["notification"].pk},
            "automations:email_detail": {"pk": o["email"].pk},
            "automations:email_html": {"pk": o["email"].pk},
            "automations:unsubscribe": {
                "token": unsubscribe_token(store_id=self.store.pk, email=o["checkout"].buyer_email)
            },
            "automations:recovery_email": {"pk": o["checkout"].pk},
            "automations:recovery_email_html": {"pk": o["checkout"].pk},
        }
        return known.get(name, {})

    def pages(self) -> list[str]:
        """Every GET page of the dashboard and its public pages."""
        urls = []
        for name, pattern in _named_patterns():
            if name in NOT_PAGES:
                continue
            kwargs = self.fill(name)
            if pattern.pattern.regex.groupindex and not kwargs:
                raise AssertionError(f"tests/crawl.py does not know how to fill the URL of {name}")
            urls.append(reverse(name, kwargs=kwargs or None))
        return urls

    def admin_pages(self) -> list[str]:
        """The admin: its index, and for every registered model its list, add, change, history
        and delete pages, with one real object."""
        urls = [reverse("admin:index")]
        for model in admin.site._registry:
            opts = model._meta
            prefix = f"admin:{opts.app_label}_{opts.model_name}"
            urls += [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
            obj = model._default_manager.order_by("pk").first()
            if obj is not None:
                for page in ("change", "history", "delete"):
                    urls.append(reverse(f"{prefix}_{page}", args=[obj.pk]))
        return urls


def _named_patterns():
    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name and namespace in NAMESPACES:
                yield f"{namespace}:{pattern.name}", pattern

    return list(walk(get_resolver().url_patterns, None))
