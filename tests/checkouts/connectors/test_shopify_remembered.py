"""A connection the process remembers skips the lookup, and a pause, a removal or a rotation still counts at once.

The receiver remembers an active connection after reading it; its next deliveries are stored by one
statement that re-checks the row. Each test here lets a first delivery teach the process the connection,
changes the connection behind its back (as another web process would), and delivers again.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from checkouts.connectors import receivers
from checkouts.models import Checkout, Connection, ConnectionReceipt
from checkouts.services.connections import (
    connection_create,
    connection_status_set,
    connection_token_rotate,
    connection_update,
)

from .test_shopify import CHECKOUT, SECRET, deliver

pytestmark = pytest.mark.django_db

NEW_SECRET = "shpss_the_replacement"


@pytest.fixture
def connection(store):
    connection = connection_create(store=store, platform="shopify", secret=SECRET)
    assert deliver(connection, "checkouts/update", CHECKOUT, webhook_id="w-first").json() == {"accepted": 1}
    return connection


@pytest.fixture
def lookups(monkeypatch):
    """How many times the receiver reads a connection from the database (the real selector, counted)."""
    calls = []

    def counted(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    original = receivers.receiver_connection
    monkeypatch.setattr(receivers, "receiver_connection", counted)
    return calls


def replace_secret(connection) -> None:
    connection_update(connection=connection, name="", settings=connection.settings, credentials={"secret": NEW_SECRET})


def second(**kwargs):
    return {**CHECKOUT, "token": "second", "updated_at": "2025-03-01T10:06:00+00:00", **kwargs}


def test_a_remembered_connections_deliveries_are_stored_without_reading_it_again(connection, lookups):
    for n in range(3):
        response = deliver(connection, "checkouts/update", second(token=f"t{n}"), webhook_id=f"w-{n}")
        assert response.status_code == 200 and response.json() == {"accepted": 1}
    assert lookups == []
    assert set(Checkout.objects.values_list("external_id", flat=True)) == {CHECKOUT["token"], "t0", "t1", "t2"}


def test_a_replay_to_a_remembered_connection_is_still_already_received(connection, lookups):
    response = deliver(connection, "checkouts/update", CHECKOUT, webhook_id="w-first")
    assert response.json() == {"accepted": 0, "note": "Already received."}
    assert ConnectionReceipt.objects.filter(delivery_id="w-first").count() == 1
    assert len(lookups) == 1  # the insert took nothing, so the receiver read the connection to say why


def test_a_connection_paused_elsewhere_takes_nothing_from_the_next_delivery(connection):
    connection_status_set(connection=connection, status=Connection.Status.PAUSED)
    response = deliver(connection, "checkouts/update", second(), webhook_id="w-2")
    assert response.json()["accepted"] == 0 and "paused" in response.json()["note"]
    assert not Checkout.objects.filter(external_id="second").exists()
    assert not ConnectionReceipt.objects.filter(delivery_id="w-2").exists()


def test_a_removed_connection_is_a_404_at_once(connection):
    token = connection.token
    Connection.objects.filter(pk=connection.pk).delete()
    response = deliver(Connection(token=token), "checkouts/update", second(), webhook_id="w-2")
    assert response.status_code == 404 and not ConnectionReceipt.objects.exists()


def test_a_url_rotated_away_at_once_is_a_404_at_once(connection):
    old = connection.token
    connection_token_rotate(connection=connection, immediately=True)
    response = deliver(Connection(token=old), "checkouts/update", second(), webhook_id="w-2")
    assert response.status_code == 404
    assert not ConnectionReceipt.objects.filter(delivery_id="w-2").exists()


def test_a_replaced_secret_signs_for_its_grace_then_is_refused(connection):
    replace_secret(connection)
    assert deliver(connection, "checkouts/update", second(), webhook_id="w-old").json() == {"accepted": 1}
    assert deliver(connection, "checkouts/update", second(token="n"), webhook_id="w-new", secret=NEW_SECRET).json() == {
        "accepted": 1
    }
    Connection.objects.filter(pk=connection.pk).update(previous_secret_until=timezone.now() - timedelta(seconds=1))
    response = deliver(connection, "checkouts/update", second(token="late"), webhook_id="w-late")
    assert response.status_code == 401
    assert not ConnectionReceipt.objects.filter(delivery_id="w-late").exists()


def test_a_secret_replaced_elsewhere_refuses_the_old_one_once_its_grace_is_over(connection):
    # The remembered connection still holds the old secret: the row no longer does (no grace left).
    replace_secret(connection)
    Connection.objects.filter(pk=connection.pk).update(previous_secret_until=timezone.now() - timedelta(seconds=1))
    response = deliver(connection, "checkouts/update", second(), webhook_id="w-2")
    assert response.status_code == 401
    assert not ConnectionReceipt.objects.filter(delivery_id="w-2").exists()


def test_a_malformed_body_to_a_remembered_connection_is_still_a_400_naming_the_field(connection):
    response = deliver(connection, "checkouts/update", second(total_price="lots"), webhook_id="w-2")
    assert response.status_code == 400 and response.json()["error"]["field"] == "total_price"
    assert not ConnectionReceipt.objects.filter(delivery_id="w-2").exists()
    raw = b"{not json"
    response = deliver(connection, "checkouts/update", None, webhook_id="w-3", raw=raw)
    assert response.status_code == 400 and not ConnectionReceipt.objects.filter(delivery_id="w-3").exists()


def test_a_delete_to_a_remembered_connection_is_a_receipt_without_a_body(connection):
    response = deliver(connection, "checkouts/delete", {"id": 1}, webhook_id="w-2")
    assert response.json() == {"accepted": 0}
    receipt = ConnectionReceipt.objects.get(delivery_id="w-2")
    assert receipt.payload is None and json.loads(json.dumps(receipt.events)) is None


@pytest.mark.parametrize("threshold", [5, None], ids=["prepared", "never"])
def test_the_remembered_insert_is_prepared_unless_a_pooler_forbids_it(connection, threshold):
    """DATABASE_PREPARED_STATEMENTS (psycopg's prepare_threshold): PostgreSQL parses and plans the insert
    once per connection, or never keeps it (a PgBouncer older than 1.21 in transaction mode cannot)."""
    from django.db import connection as db

    if db.vendor != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")
    from django.conf import settings

    assert settings.DATABASES["default"]["OPTIONS"].get("prepare_threshold") == 5  # the default
    psycopg_connection = db.connection
    default = psycopg_connection.prepare_threshold
    psycopg_connection.prepare_threshold = threshold
    try:
        for n in range(7):
            response = deliver(connection, "checkouts/update", second(token=f"t-{n}"), webhook_id=f"w-prep-{n}")
            assert response.json() == {"accepted": 1}
        with db.cursor() as cursor:
            # The inbox's insert (the drain's ingest statements, prepared too, write other tables).
            inbox = "%INSERT INTO checkouts_connectionreceipt%ON CONFLICT%"
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [inbox])
            assert cursor.fetchone()[0] == (1 if threshold else 0)
    finally:
        psycopg_connection.prepare_threshold = default
    assert ConnectionReceipt.objects.filter(delivery_id__startswith="w-prep-").count() == 7
