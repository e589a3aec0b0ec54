"""Signing in (the lockout page), password reset with its limits, choosing the dashboard's store,
and joining a store by invitation."""

import math
from urllib.parse import urlencode
from uuid import UUID

from axes.helpers import get_client_username
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views import View

from config.client_ip import client_ip

from ..forms import InvitationSignupForm
from ..services import InvitationUnavailable, invitation_accept, invitation_for_token
from ..signin import login_lockout_ends_at, password_reset_allowed
from ..tenancy import memberships_for_user, store_choose


def login_locked_out(request, original_response, credentials=None):
    """What a locked-out sign-in gets (AXES_LOCKOUT_CALLABLE): the same sign-in page, saying how long to wait.

    Status 429 with Retry-After. The page it was (the dashboard's or the admin's) is shown
    again with its form, so the message sits where the "wrong password" one would.
    """
    ends_at = login_lockout_ends_at(
        username=get_client_username(request, credentials), ip_address=getattr(request, "axes_ip_address", None)
    )
    seconds = max(1, math.ceil((ends_at - timezone.now()).total_seconds()))
    minutes = math.ceil(seconds / 60)
    message = ngettext(
        "Too many attempts. Try again in %(minutes)d minute.",
        "Too many attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    context = getattr(original_response, "context_data", None) or {}
    form = context.get("form")
    if isinstance(original_response, TemplateResponse) and form is not None:
        form.errors.clear()  # the lockout, not "wrong password", is why this sign-in failed
        form.add_error(None, message)
        response = TemplateResponse(request, original_response.template_name, context, status=429)
    else:
        response = TemplateResponse(request, "registration/locked_out.html", {"lockout_message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response.render()


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, sending at most a few emails per address and per client (settings)."""

    def form_valid(self, form):
        if password_reset_allowed(email=form.cleaned_data["email"], ip_address=client_ip(self.request)):
            return super().form_valid(form)
        # The same "check your email" page: whether a link went out, or an account exists, stays unsaid.
        return HttpResponseRedirect(self.get_success_url())


class StoreSwitchView(LoginRequiredMixin, View):
    """POST `store`: a store the user belongs to becomes the session's store."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            store_id = UUID(request.POST.get("store", ""))
        except ValueError:
            store_id = None
        membership = memberships_for_user(request.user).for_store(store_id).first() if store_id else None
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
