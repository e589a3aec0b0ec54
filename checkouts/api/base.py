"""The base of every authenticated API view: one store per request, resolved once.

A request acts for exactly one store: its API key's store, or (signed in to the
dashboard) the session's current store, as that membership. The view resolves it right
after authentication and every queryset starts from it (`get_queryset`), so no view
filters by store by hand and another store's id is simply not found.
"""

from django.conf import settings
from rest_framework import permissions
from rest_framework.generics import GenericAPIView
from rest_framework.views import APIView

from ..models import AbandonedCheckout, ApiKey, Membership, Store
from ..selectors import abandoned_checkouts_for_store
from .auth import ApiKeyAuthentication, ApiKeyUser
from .parsers import BoundedJSONParser
from .renderers import FastJSONRenderer
from .throttling import ApiKeyRateThrottle

# Wix's permission ids for our scopes (reference §3); ingest is Comeback's own.
WIX_PERMISSIONS = {
    ApiKey.Scope.READ: "ECOM.ABANDONED_CHECKOUT_READ",
    ApiKey.Scope.DELETE: "ECOM.ABANDONED_CHECKOUT_DELETE",
    ApiKey.Scope.INGEST: "COMEBACK.CHECKOUT_EVENTS_INGEST",
}
# The dashboard role a signed-in member needs for the same scope.
ROLE_FOR_SCOPE = {
    ApiKey.Scope.READ: Membership.Role.VIEWER,
    ApiKey.Scope.DELETE: Membership.Role.MANAGER,
    ApiKey.Scope.INGEST: Membership.Role.MANAGER,
}


class HasStoreScope(permissions.BasePermission):
    """The API key holds the scope this method needs, or the member's role allows it."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        scope = view.required_scope(request.method)
        if isinstance(user, ApiKeyUser):
            if user.has_scope(scope):
                return True
            holder = "API key" if user.api_key is not None else "app"
            self.message = f"This {holder} lacks the '{scope}' scope ({WIX_PERMISSIONS[scope]})."
            return False
        if view.membership is None:
            self.message = "You are not a member of any store."
            return False
        role = ROLE_FOR_SCOPE[scope]
        if view.membership.allows(role):
            return True
        self.message = f"This needs the {Membership.Role(role).label} role or higher."
        return False


class StoreAPIView(APIView):
    """An API view acting for one store (`self.store`), with scopes, rate limits and size limits.

    Subclasses map HTTP methods to scopes in `scopes`; anything unlisted needs `read`.
    """

    scopes: dict[str, str] = {}
    permission_classes = [HasStoreScope]
    throttle_classes = [ApiKeyRateThrottle]
    parser_classes = [BoundedJSONParser]
    renderer_classes = [FastJSONRenderer]
    rate_setting = "COMEBACK_API_RATE_LIMIT"
    body_limit_setting = "COMEBACK_API_MAX_BODY_BYTES"

    store: Store | None = None
    membership: Membership | None = None

    @property
    def throttle_checks_address_block(self) -> bool:
        """Whether the throttle checks the block on addresses that sent bad credentials
        (`checkouts.api.auth.block_checked_by_throttle`): one cache round trip per request, not two."""
        return ApiKeyRateThrottle in self.throttle_classes

    def permission_denied(self, request, message=None, code=None):
        # A blocked address is refused as such before anything else, as authentication used to.
        if failures := getattr(request, "address_block_pending", None):
            ApiKeyAuthentication.refuse_if_blocked(failures)
        super().permission_denied(request, message, code)

    def required_scope(self, method: str) -> str:
        return self.scopes.get(method, ApiKey.Scope.READ)

    def max_body_bytes(self) -> int:
        return getattr(settings, self.body_limit_setting)

    def perform_authentication(self, request) -> None:
        super().perform_authentication(request)
        user = request.user
        if isinstance(user, ApiKeyUser):
            self.store = user.store
        elif user is not None and user.is_authenticated:
            self.membership = getattr(request._request, "membership", None)
            self.store = self.membership.store if self.membership else None
        # The shared FilterSet reads the store (for its time zone) from the request.
        request._request.store = self.store

    def abandoned_checkouts(self):
        """The starting point of every read: this store's abandoned checkouts."""
        return abandoned_checkouts_for_store(store=self.store)


class StoreGenericAPIView(StoreAPIView, GenericAPIView):
    """GenericAPIView whose queryset is the current store's abandoned checkouts."""

    queryset = AbandonedCheckout.objects.none()  # for schema generation; get_queryset is per store

    def get_queryset(self):
        return self.abandoned_checkouts()
