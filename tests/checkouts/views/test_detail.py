"""The detail page: buyer, items, totals, recovery link, timeline; delete and anonymise."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkouts.models import AbandonedCheckout, Activity, WebhookEvent
from tests.factories import ActivityFactory, CheckoutFactory

from .conftest import line_item

pytestmark = pytest.mark.django_db


def test_the_detail_shows_buyer_items_discounts_and_both_currencies(store, viewer_client, make_checkout):
    ac = make_checkout(
        first_name="Ada",
        last_name="Lovelace",
        buyer_email="ada@example.com",
        phone="+15555550100",
        company="Analytical Engines",
        currency="USD",
        conversion_currency="EUR",
        subtotal=Decimal("200"),
        subtotal_converted=Decimal("184"),
        total=Decimal("180"),
        total_converted=Decimal("165.60"),
        line_items=[
            line_item(
                "Rain Jacket",
                2,
                "189.00",
                priceBeforeDiscounts={"amount": "210", "formattedAmount": "$210.00"},
                descriptionLines=[
                    {"name": {"original": "Size"}, "plainText": {"original": "M"}},
                    {"name": {"original": "Color"}, "colorInfo": {"original": "Forest", "code": "#2f6f4f"}},
                    {"name": {"original": "Bad"}, "colorInfo": {"original": "x", "code": "red;background:url(x)"}},
                ],
                physicalProperties={"sku": "RAIN-M", "shippable": True},
            )
        ],
        applied_discounts=[
            {"discountType": "GLOBAL", "coupon": {"code": "SAVE20", "name": "Winter", "amount": {"amount": "20"}}}
        ],
    )

    response = viewer_client.get(f"/checkouts/{ac.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Ada Lovelace", "mailto:ada@example.com", "tel:+15555550100", "Analytical Engines"):
        assert text in html
    assert "Rain Jacket" in html and "Quantity 2" in html and "SKU RAIN-M" in html
    assert 'src="/static/img/products/rain-jacket.svg"' in html
    assert "Size: " in html and 'fill="#2f6f4f"' in html and "Forest" in html
    assert "red;background" not in html  # only hex colours reach the SVG attribute
    assert "$189.00" in html and "$210.00" in html
    assert "Coupon SAVE20 (Winter)" in html and "−$20.00" in html
    assert "$200.00" in html and "€184.00" in html and "$180.00" in html and "€165.60" in html
    link = f"/ecom/v1/abandoned-checkout/{ac.pk}/redirect-to-checkout?metasiteId={store.pk}"
    assert f'data-copy="http://127.0.0.1:8000{link}"' in html  # copy
    assert f'href="http://127.0.0.1:8000{link}" target="_blank"' in html  # open


def test_the_timeline_merges_everything_in_time_order(store, viewer_client, make_checkout):
    ac = make_checkout(hours_ago=5)
    now = timezone.now()
    ActivityFactory(abandoned_checkout=ac, type=Activity.Type.SCHEDULED, created_at=now - timedelta(hours=5))
    ActivityFactory(
        abandoned_checkout=ac,
        type=Activity.Type.EMAIL_NOT_SENT,
        reason="UNSUBSCRIBED",
        created_at=now - timedelta(hours=4),
    )
    ActivityFactory(abandoned_checkout=ac, type=Activity.Type.EMAIL_SENT, created_at=now - timedelta(hours=3))
    AbandonedCheckout.objects.filter(pk=ac.pk).update(
        link_clicks=2,
        last_clicked_at=now - timedelta(hours=2),
        status=AbandonedCheckout.Status.RECOVERED,
        checkout_recovered_at=now - timedelta(hours=1),
        recovered_order_id="order-77",
    )

    html = viewer_client.get(f"/checkouts/{ac.pk}/").content.decode()

    timeline = html[html.index('class="timeline"') :]
    titles = ["Checkout abandoned", "Scheduled", "Email not sent", "Email sent", "Recovery link opened", "Recovered"]
    positions = [timeline.index(title) for title in titles]
    assert positions == sorted(positions)
    assert "Unsubscribed" in timeline and "2 clicks in all" in timeline and "Order order-77" in timeline


def test_a_manager_sees_delete_and_anonymise_a_viewer_does_not(viewer_client, manager_client, make_checkout):
    ac = make_checkout()
    assert f"/checkouts/{ac.pk}/delete/" not in viewer_client.get(f"/checkouts/{ac.pk}/").content.decode()
    assert f"/checkouts/{ac.pk}/delete/" in manager_client.get(f"/checkouts/{ac.pk}/").content.decode()


def test_delete_asks_first_then_deletes_with_its_webhook_event(store, manager_client, make_checkout):
    ac = make_checkout(buyer_email="ada@example.com")
    confirm = manager_client.get(f"/checkouts/{ac.pk}/delete/")
    assert confirm.status_code == 200 and "Delete this abandoned checkout?" in confirm.content.decode()
    assert AbandonedCheckout.objects.filter(pk=ac.pk).exists()

    response = manager_client.post(f"/checkouts/{ac.pk}/delete/", follow=True)

    assert response.redirect_chain[-1][0] == "/checkouts/"
    assert "Deleted the abandoned checkout of ada@example.com" in response.content.decode()
    assert not AbandonedCheckout.objects.filter(pk=ac.pk).exists()
    assert WebhookEvent.objects.filter(entity_id=ac.pk, type=WebhookEvent.Type.DELETED).exists()


def test_anonymise_erases_the_buyer_and_keeps_the_row(manager_client, make_checkout):
    ac = make_checkout(buyer_email="ada@example.com", first_name="Ada", phone="+1555")
    assert "Anonymise this buyer?" in manager_client.get(f"/checkouts/{ac.pk}/anonymise/").content.decode()

    response = manager_client.post(f"/checkouts/{ac.pk}/anonymise/", follow=True)

    html = response.content.decode()
    assert response.redirect_chain[-1][0] == f"/checkouts/{ac.pk}/"
    assert "personal data was erased" in html and "ada@example.com" not in html
    ac.refresh_from_db()
    assert (ac.buyer_email, ac.first_name, ac.phone) == ("", "", "")


def test_an_unknown_id_is_a_friendly_404(viewer_client):
    response = viewer_client.get("/checkouts/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert "We can't find that page" in response.content.decode()


def test_the_detail_runs_a_constant_number_of_queries(viewer_client, make_checkout):
    """However long a checkout's history, its page costs the same few queries."""
    quiet, busy = make_checkout(), make_checkout()
    ActivityFactory(abandoned_checkout=quiet)
    for _ in range(30):
        ActivityFactory(abandoned_checkout=busy)
    viewer_client.get("/")

    def queries_for(ac) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert viewer_client.get(f"/checkouts/{ac.pk}/").status_code == 200
        return len(captured)

    # session, user, membership, switcher, checkout, activities, one per timeline source
    # (deliveries, emails, tasks), the header's notification bell and the nav's open-task badge.
    assert queries_for(quiet) == queries_for(busy) <= 12


def test_one_language_per_page_even_for_a_french_store(store, viewer_client, make_checkout):
    """Words, amounts and times follow the reader (English), not the store's or storefront's French."""
    store.language = "fr"
    store.save()
    item = line_item("Veste", 1, "12.50")
    item["price"] = {"amount": "12.50", "formattedAmount": "12,50 €"}  # as a French storefront sends it
    ac = make_checkout(currency="EUR", line_items=[item])
    ActivityFactory(abandoned_checkout=ac, type=Activity.Type.SCHEDULED)

    html = viewer_client.get(f"/checkouts/{ac.pk}/").content.decode()

    assert "€12.50" in html and "12,50 €" not in html
    assert " ago" in html and "il y a" not in html


def test_the_detail_shows_when_the_buyer_started_the_checkout(store, viewer_client, make_checkout):
    started = timezone.now() - timedelta(hours=5)
    checkout = CheckoutFactory(store=store, created_at=started, last_activity_at=started)
    ac = make_checkout(checkout=checkout, checkout_external_id=checkout.external_id)
    orphan = make_checkout()  # a cart abandoned before any checkout: no start time to show

    html = viewer_client.get(f"/checkouts/{ac.pk}/").content.decode()
    local = timezone.localtime(started, store.zone)
    assert f"Checkout started {local:%b} {local.day}, {local.year}" in html
    assert "Checkout started" not in viewer_client.get(f"/checkouts/{orphan.pk}/").content.decode()


def test_an_anonymised_checkout_is_not_offered_anonymise_again(manager_client, make_checkout):
    ac = make_checkout(buyer_email="ada@example.com", first_name="Ada")
    assert "Anonymise buyer…" in manager_client.get(f"/checkouts/{ac.pk}/").content.decode()

    manager_client.post(f"/checkouts/{ac.pk}/anonymise/")

    html = manager_client.get(f"/checkouts/{ac.pk}/").content.decode()
    assert "Anonymise buyer…" not in html and "no personal data is left to erase" in html
