"""Merchant journeys end to end, as a person walks them: an invitation accepted into a viewer's
limits, every public page opened while signed in, and the checkout page on a phone."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from automations.messages.render import unsubscribe_url
from checkouts.models import AbandonedCheckout, Invitation, Membership, TimelineEvent
from checkouts.services import abandoned_checkout_anonymise, invitation_create, store_create
from tests.checkouts.views.conftest import line_item
from tests.factories import AbandonedCheckoutFactory

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = 390
DESKTOP = 1366


@pytest.fixture
def owner(settings, live_server):
    settings.COMEBACK_PUBLIC_URL = live_server.url
    store = store_create(name="Northwind Outfitters", storefront_url="https://northwind.shop.example.com")
    user = get_user_model().objects.create_user("demo", "demo@example.com", PASSWORD)
    Membership.objects.create(user=user, store=store, role=Membership.Role.OWNER)
    return user, store


def cart(store, **fields) -> AbandonedCheckout:
    """2 × $40.00 + 3 × $12.50 = $117.50, less a $10.00 coupon, plus $5.00 shipping and $8.00 tax = $120.50."""
    return AbandonedCheckoutFactory(
        store=store,
        first_name="Ada",
        last_name="Lovelace",
        buyer_email="ada@example.com",
        currency="USD",
        subtotal=Decimal("117.50"),
        shipping=Decimal("5.00"),
        tax=Decimal("8.00"),
        total=Decimal("120.50"),
        line_items=[
            line_item("Rain Jacket", 2, "40.00", slug="rain-jacket"),
            line_item("Wool Beanie", 3, "12.50", slug="trail-backpack"),
        ],
        applied_discounts=[
            {"discountType": "GLOBAL", "coupon": {"code": "SAVE10", "name": "Welcome", "amount": {"amount": "10"}}}
        ],
        storefront_checkout_url="https://northwind.shop.example.com/checkout/1",
        **fields,
    )


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth")


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_an_invited_person_joins_as_a_viewer_and_meets_a_viewers_limits(context_factory, shoot, problems, owner, width):
    _, store = owner
    cart(store)
    problems.allow("status of 403")  # the members page, refused on purpose at the end

    owner_page = context_factory(width=width).new_page()
    log_in(owner_page)
    owner_page.goto("/settings/members/")
    owner_page.locator("#id_email").fill("vera@example.com")
    owner_page.locator("#id_role").select_option("VIEWER")
    owner_page.get_by_role("button", name="Send invitation").click()
    owner_page.get_by_text("Invitation sent to vera@example.com.").wait_for()
    link = owner_page.locator("#invitation-link").input_value()
    assert re.search(r"/invitations/[^/]+/$", link)
    shoot(owner_page, f"journey-invite-01-sent-{width}")

    # The invitee: a fresh browser, nobody signed in.
    page = context_factory(width=width).new_page()
    page.goto(link)
    assert page.get_by_role("heading", name="Join Northwind Outfitters").is_visible()
    assert page.locator("#invited-email").input_value() == "vera@example.com"
    shoot(page, f"journey-invite-02-accept-{width}")
    page.locator('input[name="username"]').fill("vera")
    page.locator('input[name="password1"]').fill("a-Long-pass-42")
    page.locator('input[name="password2"]').fill("a-Long-pass-42")
    page.get_by_role("button", name="Create account and join").click()
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_text("Welcome to Northwind Outfitters: you are viewer.").wait_for()
    assert no_sideways_scroll(page)
    shoot(page, f"journey-invite-03-overview-{width}")

    page.goto("/checkouts/")
    assert page.get_by_text("Ada Lovelace").first.is_visible()
    assert page.get_by_role("link", name=re.compile("Export")).count() == 0
    assert page.get_by_role("button", name=re.compile("Delete|Anonymise|Send")).count() == 0
    shoot(page, f"journey-invite-04-list-{width}")

    page.get_by_text("Ada Lovelace").first.click()
    page.get_by_role("heading", name="Ada Lovelace").wait_for()
    for name in ("Send recovery email", "Delete", "Anonymise", "Export"):
        assert page.get_by_role("link", name=re.compile(name)).count() == 0
        assert page.get_by_role("button", name=re.compile(name)).count() == 0
    assert page.get_by_role("button", name="Copy link").is_visible()  # what a viewer may do
    shoot(page, f"journey-invite-05-detail-{width}")

    response = page.goto("/settings/members/")
    assert response.status == 403
    assert page.get_by_role("heading", name="You can't do that here").is_visible()
    shoot(page, f"journey-invite-06-refused-{width}")
    assert Membership.objects.get(store=store, user__username="vera").role == Membership.Role.VIEWER


def test_a_signed_in_merchant_opens_every_public_page(context_factory, shoot, problems, owner, live_server):
    user, store = owner
    store.storefront_url = live_server.url
    store.storefront_hosts = []  # the storefront URL's host, as save() derives it
    store.save()
    problems.allow("status of 404")  # the unknown link and the expired invitation answer 404
    recovered = cart(store, status=AbandonedCheckout.Status.RECOVERED, checkout_recovered_at=datetime.now(UTC))
    erased = cart(store)
    abandoned_checkout_anonymise(abandoned_checkout_id=erased.pk, store=store, actor=user)
    invitation, link = invitation_create(store=store, email="late@example.com", role="VIEWER", invited_by=user)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    unsubscribe = unsubscribe_url(store_id=store.pk, email="ada@example.com")

    def recovery(pk) -> str:
        return f"/ecom/v1/abandoned-checkout/{pk}/redirect-to-checkout?metasiteId={store.pk}"

    pages = [
        ("recovered", recovery(recovered.pk), 200, "You have already completed this order"),
        ("unknown", recovery("00000000-0000-0000-0000-000000000000"), 404, "This link is no longer available"),
        # An erased checkout has no checkout URL left: its link falls back to the storefront's home
        # (here the live server's, which a signed-in merchant sees as their overview).
        ("erased", recovery(erased.pk), 200, "Overview"),
        ("unsubscribe", unsubscribe, 200, "Stop reminders from Northwind Outfitters?"),
        ("invitation-expired", link, 404, "This invitation link does not work"),
    ]
    for width in (DESKTOP, PHONE):
        page = context_factory(width=width).new_page()
        log_in(page)
        for name, url, status, heading in pages:
            response = page.goto(url)
            assert response.status == status, (name, response.status)
            assert page.get_by_role("heading", name=heading).is_visible(), name
            assert no_sideways_scroll(page), name
            if name == "erased":
                assert page.url.rstrip("/") == live_server.url
            shoot(page, f"journey-public-{name}-{width}")
        # Back in the dashboard, the erased checkout's timeline says who erased it.
        page.goto(f"/checkouts/{erased.pk}/")
        assert page.locator("ol.timeline").get_by_text("Anonymised by demo").is_visible()
        shoot(page, f"journey-public-erased-detail-{width}")
    # Opening them changed nothing: no click counted, nobody unsubscribed.
    assert AbandonedCheckout.objects.get(pk=recovered.pk).link_clicks == 0


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_the_checkout_page_shows_line_totals_every_total_line_and_the_timeline(context_factory, shoot, owner, width):
    _, store = owner
    ac = cart(store)
    AbandonedCheckout.objects.filter(pk=ac.pk).update(
        created_at=timezone.now() - timedelta(hours=3), link_clicks=1, last_clicked_at=timezone.now()
    )
    TimelineEvent.objects.create(store=store, abandoned_checkout=ac, kind=TimelineEvent.Kind.LINK_OPENED)
    page = context_factory(width=width).new_page()
    log_in(page)
    page.goto(f"/checkouts/{ac.pk}/")

    items = page.locator(".line-item")
    assert items.count() == 2
    assert "$80.00" in items.nth(0).inner_text() and "2 × $40.00" in items.nth(0).inner_text()
    assert "$37.50" in items.nth(1).inner_text() and "3 × $12.50" in items.nth(1).inner_text()
    totals = page.locator("dl.totals").inner_text()
    for text in ("Subtotal", "$117.50", "Coupon SAVE10 (Welcome)", "−$10.00", "Shipping", "$5.00", "Tax", "$8.00"):
        assert text in totals
    assert "$120.50" in totals
    timeline = page.locator("ol.timeline")
    assert timeline.get_by_text("Checkout abandoned").is_visible()
    assert timeline.get_by_text("Opened the recovery link").is_visible()
    assert no_sideways_scroll(page)
    page.locator("dl.totals").scroll_into_view_if_needed()
    shoot(page, f"journey-detail-{width}")


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_the_recovery_email_adds_up_as_the_buyer_sees_it(context_factory, shoot, owner, width):
    _, store = owner
    ac = cart(store)
    page = context_factory(width=width).new_page()
    log_in(page)
    page.goto(f"/checkouts/{ac.pk}/recovery-email/")
    shoot(page, f"journey-email-preview-{width}")
    # The email itself, as its own document (the preview frames it sandboxed).
    page.goto(f"/checkouts/{ac.pk}/recovery-email/html/")
    text = page.locator("body").inner_text()
    for line in ("2 × $40.00", "$80.00", "3 × $12.50", "$37.50", "Subtotal", "$117.50", "Coupon SAVE10 (Welcome)"):
        assert line in text
    for line in ("−$10.00", "Shipping", "$5.00", "Tax", "$8.00", "Total", "$120.50"):
        assert line in text
    assert no_sideways_scroll(page)
    shoot(page, f"journey-email-{width}")
