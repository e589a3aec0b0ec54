"""The discount page of an automation: the offer form, the CSV upload, the figures; and the
platform hook a connector fills in."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from automations.models import DiscountCode, DiscountGrant, DiscountOffer
from automations.services.discount_pool import MAX_UPLOAD_BYTES, discount_codes_upload
from automations.services.discounts import discount_codes_allot
from checkouts.connectors.discounts import (
    DiscountCodesUnsupported,
    discount_code_maker,
    discount_codes_register,
    discount_codes_unregister,
)
from checkouts.services.connections import connection_create
from tests.automations.helpers import abandon, email_step, only_automation
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def automation(store):
    automation = only_automation(store, name="Win back")
    email_step(automation, position=1)
    return automation


@pytest.fixture
def manager(client, store):
    user = MembershipFactory(store=store, user=UserFactory(username="mia"), role="MANAGER").user
    client.force_login(user)
    return client


def upload(client, automation, content: bytes, name: str = "codes.csv"):
    return client.post(
        f"/automations/{automation.pk}/discount/", {"form": "upload", "file": SimpleUploadedFile(name, content)}
    )


def test_a_csv_with_a_bom_a_header_blank_lines_and_duplicates_adds_each_code_once(manager, automation):
    DiscountCode.objects.create(store=automation.store, automation=automation, code="OLD-1")
    content = "\ufeffCode,Note\r\nNEW-1,first\r\n\r\nNEW-2,\r\nNEW-1,again\r\nOLD-1\r\n  NEW-3  \r\n".encode()
    response = upload(manager, automation, content)
    assert response.status_code == 302
    assert sorted(DiscountCode.objects.values_list("code", flat=True)) == ["NEW-1", "NEW-2", "NEW-3", "OLD-1"]
    page = manager.get(response["Location"]).content.decode()
    assert "3 codes added, 2 already in the list." in page
    # Uploading codes says "use them".
    assert DiscountOffer.objects.get(automation=automation).source == "POOL"


def test_bad_rows_are_skipped_and_named_by_line(automation):
    report = discount_codes_upload(
        automation=automation, data=b"GOOD-1\nhas space\n" + b"L" * 65 + b"\nGOOD-2\n\x07BELL\n"
    )
    assert (report.added, report.duplicates) == (2, 0)
    assert report.bad_rows == [
        (2, "contains spaces or invisible characters"),
        (3, "longer than 64 characters"),
        (5, "contains spaces or invisible characters"),
    ]


def test_a_file_past_the_size_limit_is_refused_whole(manager, automation):
    content = b"\n".join(f"CODE-{i:08d}".encode() for i in range(MAX_UPLOAD_BYTES // 10))
    assert len(content) > MAX_UPLOAD_BYTES
    response = upload(manager, automation, content)
    assert response.status_code == 400 and "larger than 1024 kB" in response.content.decode()
    assert not DiscountCode.objects.exists()
    with pytest.raises(ValidationError):
        discount_codes_upload(automation=automation, data=content)


def test_a_file_that_is_not_utf8_or_holds_no_code_is_refused(manager, automation):
    response = upload(manager, automation, "CÓDIGO-1\n".encode("latin-1"))
    assert response.status_code == 400 and "not UTF-8" in response.content.decode()
    response = upload(manager, automation, b"code\n\n \n")
    assert response.status_code == 400 and "holds no discount code" in response.content.decode()
    assert not DiscountCode.objects.exists()


def test_a_viewer_sees_the_page_but_cannot_upload(client, store, automation):
    viewer = MembershipFactory(store=store, user=UserFactory(username="vic"), role="VIEWER").user
    client.force_login(viewer)
    assert client.get(f"/automations/{automation.pk}/discount/").status_code == 200
    assert upload(client, automation, b"X-1\n").status_code == 403
    assert not DiscountCode.objects.exists()


def test_a_static_offer_is_saved_and_a_code_with_spaces_is_refused(manager, automation):
    url = f"/automations/{automation.pk}/discount/"
    response = manager.post(url, {"source": "STATIC", "static_code": "TEN OFF", "from_position": 1, "percent_off": 10})
    assert response.status_code == 400 and "cannot be typed at checkout" in response.content.decode()
    response = manager.post(url, {"source": "STATIC", "static_code": "TENOFF", "from_position": 2, "percent_off": 10})
    assert response.status_code == 302
    offer = DiscountOffer.objects.get(automation=automation)
    assert (offer.source, offer.static_code, offer.from_position) == ("STATIC", "TENOFF", 2)


def test_platform_codes_need_a_platform_that_can_make_them(manager, store, automation):
    connection = connection_create(store=store, platform="shopify", name="Shop", secret="s3cret")
    url = f"/automations/{automation.pk}/discount/"
    data = {"source": "PLATFORM", "connection": connection.pk, "from_position": 1, "percent_off": 15}
    response = manager.post(url, data)
    assert response.status_code == 400
    assert "Shopify cannot make discount codes through Comeback yet" in response.content.decode()
    with pytest.raises(DiscountCodesUnsupported):
        discount_code_maker("shopify")


def test_a_registered_platform_makes_one_call_per_batch_for_its_codes(manager, store, automation):
    connection = connection_create(store=store, platform="shopify", name="Shop", secret="s3cret")
    calls = []

    def make(request):
        # What a platform module does: call its API once for the whole batch.
        calls.append((request.connection.pk, request.count, request.percent_off))
        return [f"SHOP-{i}" for i in range(request.count)]

    discount_codes_register("shopify", make)
    try:
        data = {"source": "PLATFORM", "connection": connection.pk, "from_position": 1, "percent_off": 15}
        assert manager.post(f"/automations/{automation.pk}/discount/", data).status_code == 302
        checkouts = abandon(store, 3)
        codes = discount_codes_allot(wanted={(automation.pk, ac.pk) for ac in checkouts}, now=checkouts[0].created_at)
    finally:
        discount_codes_unregister("shopify")
    assert calls == [(connection.pk, 3, Decimal(15))]
    assert sorted(g.code for g in codes.given.values()) == ["SHOP-0", "SHOP-1", "SHOP-2"]


def test_the_automation_page_shows_codes_handed_out_used_and_their_revenue(client, owner, store, automation):
    client.force_login(owner)
    DiscountOffer.objects.create(automation=automation, source="POOL")
    discount_codes_upload(automation=automation, data=b"P-1\nP-2\nP-3\n")
    first, second = abandon(store, 2)
    for ac, code in ((first, "P-1"), (second, "P-2")):
        DiscountCode.objects.filter(code=code).update(claimed_at=ac.created_at)
        DiscountGrant.objects.create(
            store=store, automation=automation, abandoned_checkout=ac, code=code, source="POOL"
        )
    DiscountGrant.objects.filter(code="P-1").update(
        redeemed_at=first.created_at, redeemed_total=Decimal("84.50"), redeemed_order_id="o-1"
    )
    page = client.get(f"/automations/{automation.pk}/").content.decode()
    assert 'Codes handed out</p><p class="kpi">2<' in page
    assert 'Codes used</p><p class="kpi">1<' in page and "$84.50" in page
    # One left of three: the page warns.
    assert "Only 1 of 3 codes left" in page
    assert f'href="/automations/{automation.pk}/discount/"' in page


def test_the_preview_shows_the_next_pool_code_without_handing_it_out(client, owner, store, automation):
    client.force_login(owner)
    DiscountOffer.objects.create(automation=automation, source="POOL")
    discount_codes_upload(automation=automation, data=b"PV-1\nPV-2\n")
    step = automation.steps.get()
    page = client.get(f"/automations/{automation.pk}/preview/html/?step={step.pk}").content.decode()
    assert "PV-1" in page and "Your discount code" in page
    assert DiscountCode.objects.free().count() == 2 and not DiscountGrant.objects.exists()
