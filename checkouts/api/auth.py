"""API-key authentication, as Wix clients send it: `Authorization: <key>` or `Bearer <key>`."""

import logging
from typing import NoReturn

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from config.client_ip import client_ip
from config.ratelimit import CACHE_DOWN, failure_record, failures_blocked

from ..models import ApiKey

logger = logging.getLogger(__name__)

# last_used_at is a hint for the merchant, not an audit log: write it at most this often.
LAST_USED_RESOLUTION_SECONDS = 60


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

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def get_username(self) -> str:
        return f"apikey:{self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "").strip()
        if not header:
            return None
        scheme, _, rest = header.partition(" ")
        if scheme.lower() in ("basic", "session"):
            return None
        raw = rest.strip() if scheme.lower() == self.keyword.lower() else header
        failures = f"comeback:api-key-failures:{client_ip(request)}"
        self._refuse_if_blocked(failures)
        parts = ApiKey.split(raw)
        if parts is None:
            self._fail(failures, "The API key is malformed.")
        prefix, secret = parts
        key = ApiKey.objects.select_related("store").filter(prefix=prefix).first()
        if key is None or not key.matches(secret) or not key.is_active:
            self._fail(failures, "The API key is not valid or has been revoked.")
        site_id = request.META.get("HTTP_WIX_SITE_ID")
        if site_id and site_id.strip().lower() != str(key.store_id):
            self._fail(failures, "The wix-site-id header does not name this key's store.")
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return ApiKeyUser(key), key

    def authenticate_header(self, request) -> str:
        return self.keyword

    # An address that keeps sending bad keys (COMEBACK_API_KEY_FAILURE_RATE) is refused with
    # 429 for a while, whatever key it sends next. With the cache away, nothing is counted.

    @staticmethod
    def _refuse_if_blocked(failures: str) -> None:
        try:
            wait = failures_blocked(key=failures)
        except CACHE_DOWN:
            logger.warning("Rate-limit cache unavailable; not checking bad API keys", exc_info=True)
            return
        if wait:
            raise exceptions.Throttled(wait, "Too many requests with an invalid API key from this address.")

    @staticmethod
    def _fail(failures: str, message: str) -> NoReturn:
        try:
            wait = failure_record(key=failures, rate=settings.COMEBACK_API_KEY_FAILURE_RATE)
        except CACHE_DOWN:
            logger.warning("Rate-limit cache unavailable; not counting bad API keys", exc_info=True)
            wait = None
        if wait:
            raise exceptions.Throttled(wait, "Too many requests with an invalid API key from this address.")
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
