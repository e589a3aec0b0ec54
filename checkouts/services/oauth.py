"""OAuth 2 client credentials for Wix apps: registering an app, and trading its secret for a token.

Tokens are signed, not stored: `cbo_` and a signed (app, store, secret fingerprint) triple with
its issue time. A token stops working when it expires (Wix's fixed 4 hours), when the app is
deactivated or uninstalled from the store, or when the app gets a new secret.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.core import signing

from ..models import ApiKey, OAuthApp, Store

TOKEN_PREFIX = "cbo_"  # noqa: S105 - a marker, not a secret
TOKEN_SALT = "comeback.oauth2.access-token"  # noqa: S105 - a namespace for SECRET_KEY
# Wix's OAuth always answers expires_in 14400 (connectors reference §1.1).
TOKEN_LIFETIME_SECONDS = 4 * 60 * 60
# Enough of the secret's hash to tell a rotated secret apart; it reveals nothing usable.
_FINGERPRINT_CHARS = 12


class OAuthError(Exception):
    """A refused token request, with the OAuth error code (RFC 6749 §5.2) and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.status = status


@dataclass(frozen=True)
class AppGrant:
    """What a valid access token stands for: an app acting for one store."""

    app: OAuthApp
    store: Store


def oauth_app_create(*, name: str, scopes: Iterable[str], stores: Iterable[Store] = ()) -> tuple[OAuthApp, str]:
    """Register an app; returns it with its client secret, which is never stored and shown only now."""
    scopes = sorted(set(scopes))
    if not scopes or set(scopes) - set(ApiKey.Scope.values):
        raise ValueError(f"Scopes must be some of {', '.join(ApiKey.Scope.values)}; got {', '.join(scopes) or 'none'}.")
    app = OAuthApp(name=name, scopes=scopes)
    secret = app.set_new_secret()
    app.save()
    app.stores.set(stores)
    return app, secret


def oauth_app_secret_reset(*, app: OAuthApp) -> str:
    """A new client secret; tokens issued under the old one stop working."""
    secret = app.set_new_secret()
    app.save(update_fields=["secret_hash"])
    return secret


def oauth_token_issue(*, client_id: str, client_secret: str, instance_id: str) -> str:
    """An access token for the app on the store `instance_id`, or OAuthError."""
    app = OAuthApp.objects.active().filter(client_id=client_id).first()
    if app is None or not app.matches(client_secret):
        raise OAuthError("invalid_client", "The client_id or client_secret is not valid.", status=401)
    store_id = _uuid_or_none(instance_id)
    store = app.stores.filter(pk=store_id).first() if store_id else None
    if store is None:
        raise OAuthError("invalid_grant", "The app is not installed on this instance_id.")
    payload = {"a": app.client_id, "s": str(store.pk), "f": app.secret_hash[:_FINGERPRINT_CHARS]}
    return TOKEN_PREFIX + signing.dumps(payload, salt=TOKEN_SALT, compress=True)


def oauth_token_grant(token: str) -> AppGrant | None:
    """The app and store a token acts for, or None if it is forged, expired or no longer honoured."""
    try:
        payload = signing.loads(token.removeprefix(TOKEN_PREFIX), salt=TOKEN_SALT, max_age=TOKEN_LIFETIME_SECONDS)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(key), str) for key in "asf"):
        return None
    app = OAuthApp.objects.active().filter(client_id=payload["a"]).first()
    if app is None or app.secret_hash[:_FINGERPRINT_CHARS] != payload["f"]:
        return None
    store = app.stores.filter(pk=payload["s"]).first()
    return AppGrant(app=app, store=store) if store else None


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return None
