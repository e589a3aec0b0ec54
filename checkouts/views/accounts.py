"""Choosing which of a user's stores the dashboard shows."""

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from ..tenancy import memberships_for_user, store_choose


class StoreSwitchView(LoginRequiredMixin, View):
    """POST `store`: a store the user belongs to becomes the session's store."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            store_id = UUID(request.POST.get("store", ""))
        except ValueError:
            store_id = None
        membership = memberships_for_user(request.user).filter(store_id=store_id).first() if store_id else None
        if membership is None:
            raise Http404("You are not a member of that store.")
        store_choose(request, membership.store)
        messages.success(request, f"Now showing {membership.store.name}.")
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) or "/checkouts/" in target:
            # A checkout page of the previous store would be a 404 in the new one.
            target = "/"
        return redirect(target)
