"""Which store a request acts for: the session's chosen store, or an API key's store."""

from django.db.models import QuerySet

from .models import Membership, Store

SESSION_KEY = "comeback_store_id"


def memberships_for_user(user) -> QuerySet[Membership]:
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("store").order_by("store__name")


def current_membership(request) -> Membership | None:
    """The membership the session has chosen (or the user's first store), or None."""
    memberships = memberships_for_user(request.user)
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    membership = memberships.filter(store_id=chosen).first() if chosen else None
    if membership is None:
        # Until the user picks one, the store they joined first.
        membership = memberships.order_by("created_at", "pk").first()
        if membership is not None and hasattr(request, "session"):
            request.session[SESSION_KEY] = str(membership.store_id)
    return membership


def store_choose(request, store: Store) -> None:
    request.session[SESSION_KEY] = str(store.pk)


class CurrentStoreMiddleware:
    """Puts the signed-in user's chosen membership and store on the request (or None)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        request.store = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            request.membership = current_membership(request)
            request.store = request.membership.store if request.membership else None
        return self.get_response(request)
