"""Settings: the store (viewers read, managers edit), members and API keys (owners)."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import TemplateView

from ..forms import ApiKeyForm, InvitationForm, MemberRoleForm, StoreSettingsForm
from ..models import ApiKey, Invitation, Membership
from ..services import (
    LastOwnerError,
    api_key_create,
    api_key_revoke,
    invitation_create,
    invitation_revoke,
    membership_remove,
    membership_role_change,
    store_update,
)
from .base import DashboardMixin


class StoreSettingsView(DashboardMixin, TemplateView):
    template_name = "checkouts/settings/store.html"
    write_role = Membership.Role.MANAGER

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", StoreSettingsForm(initial=StoreSettingsForm.initial_for(self.store)))
        context["read_only"] = not self.membership.allows(Membership.Role.MANAGER)
        return context

    def post(self, request, *args, **kwargs):
        form = StoreSettingsForm(request.POST)
        if form.is_valid():
            try:
                store_update(store=self.store, **form.store_fields())
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    name = "abandon_after_minutes" if field == "abandon_after" else field
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, "Store settings saved.")
                return redirect("checkouts:settings")
        self.store.refresh_from_db()
        return self.render_to_response(self.get_context_data(form=form), status=400)


class MembersView(DashboardMixin, TemplateView):
    template_name = "checkouts/settings/members.html"
    min_role = Membership.Role.OWNER

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        members = list(Membership.objects.for_store(self.store).select_related("user").order_by("user__username"))
        invitations = list(Invitation.objects.for_store(self.store).open().select_related("invited_by"))
        context.setdefault("form", InvitationForm(store=self.store))
        context.update(
            members=members,
            invitations=invitations,
            roles=Membership.Role.choices,
            invitation_days=settings.COMEBACK_INVITATION_DAYS,
        )
        return context

    def post(self, request, *args, **kwargs):
        form = InvitationForm(request.POST, store=self.store)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        invitation, url = invitation_create(
            store=self.store, email=form.cleaned_data["email"], role=form.cleaned_data["role"], invited_by=request.user
        )
        messages.success(request, f"Invitation sent to {invitation.email}.")
        # The link is shown once, here, for an owner whose invitee does not get the email.
        response = self.render_to_response(
            self.get_context_data(form=InvitationForm(store=self.store), invitation_link=url)
        )
        response["Cache-Control"] = "no-store"
        return response


class InvitationRevokeView(DashboardMixin, View):
    min_role = Membership.Role.OWNER
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        invitation = get_object_or_404(Invitation.objects.for_store(self.store), pk=self.kwargs["pk"])
        if invitation_revoke(invitation=invitation):
            messages.success(request, f"The invitation to {invitation.email} no longer works.")
        return redirect("checkouts:members")


class _MemberMixin(DashboardMixin):
    min_role = Membership.Role.OWNER
    http_method_names = ["post"]

    def get_member(self) -> Membership:
        return get_object_or_404(Membership.objects.for_store(self.store).select_related("user"), pk=self.kwargs["pk"])


class MemberChangeView(_MemberMixin, View):
    def post(self, request, *args, **kwargs):
        member = self.get_member()
        form = MemberRoleForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Pick one of the roles.")
            return redirect("checkouts:members")
        try:
            membership_role_change(membership=member, role=form.cleaned_data["role"])
        except LastOwnerError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{member.user.get_username()} is now {member.get_role_display().lower()}.")
        return redirect("checkouts:members")


class MemberRemoveView(_MemberMixin, View):
    def post(self, request, *args, **kwargs):
        member = self.get_member()
        try:
            membership_remove(membership=member)
        except LastOwnerError as exc:
            messages.error(request, str(exc))
            return redirect("checkouts:members")
        messages.success(request, f"{member.user.get_username()} was removed from this store.")
        if member.pk == self.membership.pk:
            return redirect("checkouts:overview")
        return redirect("checkouts:members")


class ApiKeysView(DashboardMixin, TemplateView):
    template_name = "checkouts/settings/api_keys.html"
    min_role = Membership.Role.OWNER

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ApiKeyForm())
        context["keys"] = list(ApiKey.objects.for_store(self.store).select_related("created_by"))
        return context

    def post(self, request, *args, **kwargs):
        form = ApiKeyForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        key, secret = api_key_create(
            store=self.store,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            created_by=request.user,
        )
        # The secret is only ever in this one response: nothing stores it, so it is shown exactly once.
        response = self.render_to_response(self.get_context_data(form=ApiKeyForm(), new_key=key, secret=secret))
        response["Cache-Control"] = "no-store"
        return response


class ApiKeyRevokeView(DashboardMixin, View):
    min_role = Membership.Role.OWNER
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        key = get_object_or_404(ApiKey.objects.for_store(self.store), pk=self.kwargs["pk"])
        api_key_revoke(api_key=key)
        messages.success(request, f"Revoked the key “{key.name}”. Apps using it are refused from now on.")
        return redirect("checkouts:api_keys")
