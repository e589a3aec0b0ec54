"""Settings → Privacy: erase a buyer on request (with a confirmation step), and the past erasures."""

from typing import Any

from django.contrib import messages
from django.shortcuts import redirect
from django.views.generic import TemplateView

from ..forms import BuyerEraseForm
from ..models import ErasureRecord, Membership
from ..services.privacy import buyer_erase, buyer_erase_preview
from .base import DashboardMixin

# The list shows the latest erasures; older ones stay in the database (and the admin).
RECORDS_SHOWN = 50


class PrivacyView(DashboardMixin, TemplateView):
    template_name = "checkouts/settings/privacy.html"
    confirm_template_name = "checkouts/settings/privacy_confirm.html"
    # Erasing is as final as deleting: the same role as the delete buttons.
    min_role = Membership.Role.MANAGER

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", BuyerEraseForm())
        context["records"] = list(
            ErasureRecord.objects.for_store(self.store)
            .select_related("actor")
            .order_by("-erased_at", "-id")[:RECORDS_SHOWN]
        )
        return context

    def post(self, request, *args, **kwargs):
        form = BuyerEraseForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        email = form.cleaned_data["email"]
        if not form.cleaned_data["confirmed"]:
            preview = buyer_erase_preview(store=self.store, email=email)
            context = {**self.get_context_data(), "email": email, "preview": preview}
            return self.response_class(request, [self.confirm_template_name], context, using=self.template_engine)
        record = buyer_erase(store=self.store, email=email, actor=request.user)
        # The message names the record, not the address: it may sit in the session for a while.
        messages.success(request, f"Buyer erased: {record.total:,} rows changed (erasure #{record.pk}).")
        return redirect("checkouts:privacy")
