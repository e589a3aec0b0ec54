"""API-key authentication, as Wix clients send it: `Authorization: <key>` or `Bearer <key>`."""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ..models import ApiKey

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
        parts = ApiKey.split(raw)
        if parts is None:
            raise exceptions.AuthenticationFailed("The API key is malformed.")
        prefix, secret = parts
        key = ApiKey.objects.select_related("store").filter(prefix=prefix).first()
        if key is None or not key.matches(secret) or not key.is_active:
            raise exceptions.AuthenticationFailed("The API key is not valid or has been revoked.")
        site_id = request.META.get("HTTP_WIX_SITE_ID")
        if site_id and site_id.strip().lower() != str(key.store_id):
            raise exceptions.AuthenticationFailed("The wix-site-id header does not name this key's store.")
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return ApiKeyUser(key), key

    def authenticate_header(self, request) -> str:
        return self.keyword


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
