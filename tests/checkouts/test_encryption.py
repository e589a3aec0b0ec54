"""Secrets at rest: webhook secrets and stores' signing keys are Fernet tokens in the database."""

import importlib
import io

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from checkouts.encryption import DecryptionError
from checkouts.models import Store, WebhookEndpoint
from checkouts.webhooks.services import webhook_endpoint_create, webhook_endpoint_rotate_secret
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

OLD, NEW, STRANGER = (Fernet.generate_key().decode() for _ in range(3))
migration = importlib.import_module("checkouts.migrations.0012_encrypt_secrets")


def raw(model, pk, *columns) -> tuple:
    """The columns as stored, read with a plain cursor: no model field in between."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {names} FROM {quote(model._meta.db_table)} WHERE {quote('id')} = %s",  # noqa: S608
            [model._meta.pk.get_db_prep_value(pk, connection)],
        )
        return cursor.fetchone()


@pytest.fixture
def keys(settings):
    def use(*keys):
        settings.COMEBACK_ENCRYPTION_KEYS = list(keys)

    use(OLD)
    return use


@pytest.fixture
def secrets_stored(keys, settings):
    """A store (with its RSA key) and an endpoint mid-rotation (two secrets), written under OLD."""
    store = StoreFactory()
    settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK = True
    endpoint = webhook_endpoint_create(
        store=store, url="http://127.0.0.1:9/in", event_types=["created"], format=WebhookEndpoint.Format.STANDARD
    )
    old_secret = endpoint.secret
    webhook_endpoint_rotate_secret(endpoint=endpoint)
    assert endpoint.previous_secret == old_secret
    return store, endpoint


def test_the_raw_columns_hold_no_plaintext(secrets_stored):
    store, endpoint = secrets_stored
    secret, previous = raw(WebhookEndpoint, endpoint.pk, "secret", "previous_secret")
    (private_key,) = raw(Store, store.pk, "webhook_private_key")
    for stored, plain in (
        (secret, endpoint.secret),
        (previous, endpoint.previous_secret),
        (private_key, store.webhook_private_key),
    ):
        assert stored.startswith("gAAAAA") and plain not in stored
        assert "whsec_" not in stored and "PRIVATE KEY" not in stored
    fresh = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (fresh.secret, fresh.previous_secret) == (endpoint.secret, endpoint.previous_secret)
    assert fresh.secret.startswith("whsec_")
    assert Store.objects.get(pk=store.pk).webhook_private_key.startswith("-----BEGIN PRIVATE KEY-----")


def test_a_value_written_under_an_old_key_opens_while_that_key_is_in_the_list(secrets_stored, keys):
    _, endpoint = secrets_stored
    keys(NEW, OLD)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret


def test_rotation_re_encrypts_every_value_under_the_first_key(secrets_stored, keys):
    store, endpoint = secrets_stored
    before = raw(WebhookEndpoint, endpoint.pk, "secret", "previous_secret")
    keys(NEW, OLD)
    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_encryption_key", "--batch-size", "1", stdout=out, stderr=err)
    assert "Re-encrypted" in out.getvalue() and "checkouts.WebhookEndpoint.secret" in out.getvalue()
    assert raw(WebhookEndpoint, endpoint.pk, "secret", "previous_secret") != before

    keys(NEW)  # the old key is gone: everything still opens
    fresh = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (fresh.secret, fresh.previous_secret) == (endpoint.secret, endpoint.previous_secret)
    assert Store.objects.get(pk=store.pk).webhook_private_key == store.webhook_private_key
    (secret,) = raw(WebhookEndpoint, endpoint.pk, "secret")
    assert Fernet(NEW).decrypt(secret.encode()).decode() == endpoint.secret


def test_a_wrong_key_fails_loudly_naming_the_column(secrets_stored, keys):
    _, endpoint = secrets_stored
    keys(STRANGER)
    with pytest.raises(DecryptionError, match=r"checkouts\.WebhookEndpoint\.secret.*COMEBACK_ENCRYPTION_KEYS"):
        WebhookEndpoint.objects.get(pk=endpoint.pk)
    with pytest.raises(
        CommandError,
        match=r"Cannot decrypt checkouts\.\w+\.\w+: none of the 1 keys in COMEBACK_ENCRYPTION_KEYS opens it",
    ):
        call_command("rotate_encryption_key", stdout=io.StringIO(), stderr=io.StringIO())
    keys(OLD)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == endpoint.secret  # nothing was damaged


@pytest.mark.parametrize("bad", [[], ["not-a-key"]])
def test_a_missing_or_malformed_key_is_a_clear_configuration_error(secrets_stored, keys, bad):
    keys(*bad)
    with pytest.raises(ImproperlyConfigured, match="COMEBACK_ENCRYPTION_KEYS"):
        StoreFactory()


def test_new_key_prints_a_usable_key():
    out = io.StringIO()
    call_command("rotate_encryption_key", "--new-key", stdout=out)
    Fernet(out.getvalue().strip())


class _Editor:
    connection = connection


def test_the_migration_encrypts_values_stored_in_plain_text_and_reverses(secrets_stored):
    store, endpoint = secrets_stored
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:  # as before the migration: plain text
        table = quote(WebhookEndpoint._meta.db_table)
        cursor.execute(
            f"UPDATE {table} SET {quote('secret')} = %s, {quote('previous_secret')} = %s",  # noqa: S608
            ["whsec_plain", ""],
        )

    migration.encrypt_existing(apps, _Editor())

    (secret,) = raw(WebhookEndpoint, endpoint.pk, "secret")
    assert secret.startswith("gAAAAA") and "whsec_plain" not in secret
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).secret == "whsec_plain"
    assert raw(WebhookEndpoint, endpoint.pk, "previous_secret") == ("",)  # no secret stays no secret
    assert Store.objects.get(pk=store.pk).webhook_private_key == store.webhook_private_key  # not encrypted twice
    migration.decrypt_existing(apps, _Editor())
    assert raw(WebhookEndpoint, endpoint.pk, "secret") == ("whsec_plain",)
    assert raw(Store, store.pk, "webhook_private_key")[0].startswith("-----BEGIN PRIVATE KEY-----")
