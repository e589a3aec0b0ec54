"""CSV export: the current filter, every row in keyset chunks, spreadsheet-safe values."""

import csv
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from checkouts.models import Activity
from checkouts.views import csv_rows
from tests.factories import AbandonedCheckoutFactory, ActivityFactory

from .conftest import line_item

pytestmark = pytest.mark.django_db


def read_csv(response) -> list[list[str]]:
    assert response.streaming, "the export must stream"
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_export_is_a_streamed_csv_of_the_current_filter(store, manager_client, make_checkout):
    store.time_zone = "America/New_York"
    store.save()
    ac = make_checkout(
        total=Decimal("150.5"),
        subtotal=Decimal("160"),
        first_name="Ada",
        buyer_email="ada@example.com",
        line_items=[line_item("Trail Backpack", 2), line_item("Wool Beanie", 1)],
    )
    make_checkout(total=Decimal("20"))  # outside the filter

    response = manager_client.get("/checkouts/export.csv", {"total_min": "100"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="abandoned-checkouts-acme-')
    header, *rows = read_csv(response)
    assert header[:3] == ["Abandoned checkout id", "Status", "Abandoned at (America/New_York)"]
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["Abandoned checkout id"] == str(ac.pk)
    local = timezone.localtime(ac.created_at, store.zone).replace(tzinfo=None)
    assert row["Abandoned at (America/New_York)"] == local.isoformat(" ", "seconds")
    assert row["Total"] == "150.50" and row["Subtotal"] == "160.00"
    assert row["Products"] == "Trail Backpack × 2; Wool Beanie × 1"
    assert row["Email"] == "ada@example.com" and row["First name"] == "Ada"
    assert row["Recovery link"].endswith(
        f"/ecom/v1/abandoned-checkout/{ac.pk}/redirect-to-checkout?metasiteId={store.pk}"
    )


@pytest.mark.parametrize("evil", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_formula_injection_is_neutralised(manager_client, make_checkout, evil):
    make_checkout(first_name=evil, last_name="Plain", company=evil)
    header, row = read_csv(manager_client.get("/checkouts/export.csv"))
    cells = dict(zip(header, row, strict=True))
    assert cells["First name"] == "'" + evil
    assert cells["Company"] == "'" + evil
    assert cells["Last name"] == "Plain"


def test_amounts_stay_plain_numbers_in_the_currency_precision(manager_client, make_checkout):
    make_checkout(currency="JPY", total=Decimal("19500"), subtotal=Decimal("19500"))
    header, row = read_csv(manager_client.get("/checkouts/export.csv"))
    cells = dict(zip(header, row, strict=True))
    assert cells["Total"] == "19500" and cells["Currency"] == "JPY"


def test_every_row_comes_out_across_chunks_in_the_list_order(store, manager_client, monkeypatch):
    monkeypatch.setattr(csv_rows, "EXPORT_CHUNK", 4)
    rows = AbandonedCheckoutFactory.create_batch(11, store=store)
    for index, ac in enumerate(rows):
        ac.total = Decimal(index * 10)
        ac.save()
    _header, *lines = read_csv(manager_client.get("/checkouts/export.csv", {"sort": "-total"}))
    assert [line[0] for line in lines] == [str(ac.pk) for ac in reversed(rows)]


@pytest.mark.parametrize(("rows", "chunk"), [(9, 5), (36, 20)])
def test_the_queries_grow_with_chunks_not_rows(
    store, manager_client, monkeypatch, django_assert_num_queries, rows, chunk
):
    AbandonedCheckoutFactory.create_batch(rows, store=store)
    manager_client.get("/")  # the session's first request stores the chosen store
    monkeypatch.setattr(csv_rows, "EXPORT_CHUNK", chunk)
    # Session, user and membership, then two chunks. On PostgreSQL a chunk is a keyset read of
    # where it ends plus a COPY (the COPY bypasses Django's query log); elsewhere one SELECT.
    with django_assert_num_queries(5):
        assert len(read_csv(manager_client.get("/checkouts/export.csv"))) == rows + 1


def test_the_export_follows_the_filter_of_activities(store, manager_client, make_checkout):
    sent = make_checkout()
    ActivityFactory(abandoned_checkout=sent, type=Activity.Type.EMAIL_SENT)
    not_sent = make_checkout()
    _header, *rows = read_csv(manager_client.get("/checkouts/export.csv", {"email_sent": "false"}))
    assert [row[0] for row in rows] == [str(not_sent.pk)]


def test_selected_rows_export_by_post(store, manager_client, make_checkout, other_store):
    first, second, _ = make_checkout(), make_checkout(), make_checkout()
    response = manager_client.post("/checkouts/export.csv", {"ids": [first.pk, second.pk]})
    _header, *rows = read_csv(response)
    assert {row[0] for row in rows} == {str(first.pk), str(second.pk)}
    foreign = AbandonedCheckoutFactory(store=other_store)
    assert manager_client.post("/checkouts/export.csv", {"ids": [first.pk, foreign.pk]}).status_code == 404


def test_a_bad_filter_or_selection_is_a_400(manager_client):
    assert manager_client.get("/checkouts/export.csv", {"total_min": "x"}).status_code == 400
    assert manager_client.post("/checkouts/export.csv", {"ids": ["nope"]}).status_code == 400
    assert manager_client.post("/checkouts/export.csv", {}).status_code == 400


def test_an_empty_export_still_has_its_header(manager_client):
    header, *rows = read_csv(manager_client.get("/checkouts/export.csv"))
    assert header[0] == "Abandoned checkout id" and rows == []


@pytest.mark.parametrize(
    ("phone", "cell"),
    [
        ("+1 555 0100", '="+1 555 0100"'),
        ("+1-555-0100", '="+1-555-0100"'),
        ("+44 (20) 7946.0958", '="+44 (20) 7946.0958"'),
        ("555 0100", "555 0100"),
        # Not a phone number: letters, a quote or a function still get the formula guard.
        ("+1+SUM(A1)", "'+1+SUM(A1)"),
        ('+1"&cmd', "'+1\"&cmd"),
        ("=1+1", "'=1+1"),
    ],
)
def test_phone_numbers_are_written_as_text_not_spoiled_by_the_formula_guard(manager_client, make_checkout, phone, cell):
    make_checkout(phone=phone)
    header, row = read_csv(manager_client.get("/checkouts/export.csv"))
    assert dict(zip(header, row, strict=True))["Phone"] == cell
