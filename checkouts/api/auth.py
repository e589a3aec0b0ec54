"""API-key authentication, as Wix clients send it: `Authorization: <key>` or `Bearer <key>`.

An OAuth access token from `POST /oauth2/token` (a Wix app's client credentials) is sent the same
way and acts like a key with the app's scopes, for the one store it was issued for.
"""

import logging
from typing import NoReturn

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from config.client_ip import client_ip
from config.ratelimit import CACHE_DOWN, failure_record, failures_blocked

from ..keyring import api_key_for_prefix, api_key_used
from ..models import ApiKey
from ..services.oauth import TOKEN_PREFIX, AppGrant, oauth_token_grant

logger = logging.getLogger(__name__)

# last_used_at is a hint for the merchant, not an audit log: write it at most this often.
LAST_USED_RESOLUTION_SECONDS = 60


# What a request from an address blocked for bad credentials gets (429), whatever it sends.
BLOCKED_MESSAGE = "Too many requests with an invalid API key from this address."


def failures_key(request) -> str:
    """The counter of bad credentials (keys, tokens, client secrets) sent from this address."""
    return f"comeback:api-key-failures:{client_ip(request)}"


def block_checked_by_throttle(request) -> bool:
    """True when the view's throttle checks the address's block (`ApiKeyRateThrottle`), in the
    same cache round trip as its count: then authentication checks it only for bad credentials."""
    view = (getattr(request, "parser_context", None) or {}).get("view")
    return bool(getattr(view, "throttle_checks_address_block", False))


def api_credentials(meta) -> str | None:
    """The API key or app token a request's Authorization header holds (`<key>` or `Bearer <key>`), or
    None: no header, or a scheme this authentication leaves to the others (the session's)."""
    header = meta.get("HTTP_AUTHORIZATION", "").strip()
    if not header:
        return None
    scheme, _, rest = header.partition(" ")
    if scheme.lower() in ("basic", "session"):
        return None
    return rest.strip() if scheme.lower() == ApiKeyAuthentication.keyword.lower() else header


class ApiKeyUser:
    """The principal of a request made with an API key: a store, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.store = api_key.store

    def __str__(self) -> str:
        return f"API key {self.api_key.name}"

    @property
    def label(self) -> str:
        """How records name this principal (an erasure's actor)."""
        return f"API key “{self.api_key.name}”"

    @property
    def rate_key(self) -> str:
        return f"key:{self.api_key.prefix}"

    def has_scope(self, scope: str) -> bool:
        return self.api_key.has_scope(scope)

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def get_username(self) -> str:
        return f"apikey:{self.api_key.prefix}"


class AppTokenUser(ApiKeyUser):
    """The principal of a request made with an app's OAuth access token: the app, for one store."""

    def __init__(self, grant: AppGrant):
        self.app = grant.app
        self.store = grant.store
        self.api_key = None

    def __str__(self) -> str:
        return f"App {self.app.name}"

    @property
    def label(self) -> str:
        return f"App “{self.app.name}”"

    @property
    def rate_key(self) -> str:
        # Wix limits per app instance; so does Comeback.
        return f"app:{self.app.client_id}:{self.store.pk}"

    def has_scope(self, scope: str) -> bool:
        return self.app.has_scope(scope)

    def get_username(self) -> str:
        return f"app:{self.app.client_id}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        raw = api_credentials(request.META)
        if raw is None:
            return None
        failures = failures_key(request)
        later = block_checked_by_throttle(request)
        if not later:
            self.refuse_if_blocked(failures)

        def refuse(message: str) -> NoReturn:
            if later:
                self.refuse_if_blocked(failures)
            self.fail(failures, message)

        if raw.startswith(TOKEN_PREFIX):
            credentials = self._app_token(request, raw, refuse)
        else:
            credentials = self._api_key(request, raw, refuse)
        if later:
            # The throttle refuses a blocked address, as this would have, in its one round trip.
            request.address_block_pending = failures
        return credentials

    @staticmethod
    def _api_key(request, raw: str, refuse):
        parts = ApiKey.split(raw)
        if parts is None:
            refuse("The API key is malformed.")
        prefix, secret = parts
        key = api_key_for_prefix(prefix)
        if key is None or not key.matches(secret) or not key.is_active:
            refuse("The API key is not valid or has been revoked.")
        site_id = request.META.get("HTTP_WIX_SITE_ID")
        if site_id and site_id.strip().lower() != str(key.store_id):
            refuse("The wix-site-id header does not name this key's store.")
        api_key_used(key, resolution_seconds=LAST_USED_RESOLUTION_SECONDS)
        return ApiKeyUser(key), key

    @staticmethod
    def _app_token(request, raw: str, refuse):
        grant = oauth_token_grant(raw)
        if grant is None:
            refuse("The access token is not valid or has expired.")
        site_id = request.META.get("HTTP_WIX_SITE_ID")
        if site_id and site_id.strip().lower() != str(grant.store.pk):
            refuse("The wix-site-id header does not name this token's store.")
        user = AppTokenUser(grant)
        return user, grant

    def authenticate_header(self, request) -> str:
        return self.keyword

    # An address that keeps sending bad keys (COMEBACK_API_KEY_FAILURE_RATE) is refused with
    # 429 for a while, whatever key it sends next. With the cache away, nothing is counted.

    @staticmethod
    def refuse_if_blocked(failures: str) -> None:
        try:
            wait = failures_blocked(key=failures)
        except CACHE_DOWN:
            logger.warning("Rate-limit cache unavailable; not checking bad API keys", exc_info=True)
            return
        if wait:
            raise exceptions.Throttled(wait, BLOCKED_MESSAGE)

    @staticmethod
    def fail(failures: str, message: str) -> NoReturn:
        try:
            wait = failure_record(key=failures, rate=settings.COMEBACK_API_KEY_FAILURE_RATE)
        except CACHE_DOWN:
            logger.warning("Rate-limit cache unavailable; not counting bad API keys", exc_info=True)
            wait = None
        if wait:
            raise exceptions.Throttled(wait, BLOCKED_MESSAGE)
        raise exceptions.AuthenticationFailed(message)


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """How /api/schema/ describes the key: the raw key in Authorization, as Wix clients send it."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A store API key (cbk_…), alone or as `Bearer <key>`. Optional `wix-site-id`: the store id.",
        }
