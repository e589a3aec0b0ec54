"""Choosing which of a user's stores the dashboard shows; joining a store by invitation."""

from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from ..forms import InvitationSignupForm
from ..services import InvitationUnavailable, invitation_accept, invitation_for_token
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


class InvitationView(View):
    """The invitation link: sign in or create an account, then join, with the invited role only."""

    template_name = "registration/invitation.html"

    def dispatch(self, request, *args, **kwargs):
        try:
            self.invitation = invitation_for_token(kwargs["token"])
        except InvitationUnavailable:
            return render(request, "registration/invitation_unavailable.html", status=404)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        return self.page(InvitationSignupForm())

    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return self.join(request.user)
        form = InvitationSignupForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            with transaction.atomic():
                user = form.save(commit=False)
                user.email = self.invitation.email
                user.save()
                # A link used meanwhile in another tab rolls the new account back too.
                membership = invitation_accept(invitation=self.invitation, user=user)
        except InvitationUnavailable:
            return render(request, "registration/invitation_unavailable.html", status=404)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return self.joined(membership)

    def join(self, user):
        try:
            membership = invitation_accept(invitation=self.invitation, user=user)
        except InvitationUnavailable:
            return render(self.request, "registration/invitation_unavailable.html", status=404)
        return self.joined(membership)

    def joined(self, membership):
        store_choose(self.request, membership.store)
        messages.success(
            self.request, f"Welcome to {membership.store.name}: you are {membership.get_role_display().lower()}."
        )
        return redirect("checkouts:overview")

    def page(self, form, status: int = 200):
        login_url = f"{reverse('checkouts:login')}?{urlencode({'next': self.request.path})}"
        context = {"invitation": self.invitation, "form": form, "login_url": login_url}
        return render(self.request, self.template_name, context, status=status)
