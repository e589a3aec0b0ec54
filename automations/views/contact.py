"""The store's contact rules: frequency cap, quiet hours and email consent."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from ..contact_forms import ContactPolicyForm
from ..models import ContactPolicy
from ..services.contact import contact_policy_save
from .automations import AutomationMixin


class ContactPolicyView(AutomationMixin, TemplateView):
    """Every member sees the rules; a manager changes them (AutomationMixin's write role)."""

    template_name = "automations/contact_policy.html"

    def get_form(self, data=None) -> ContactPolicyForm:
        policy = ContactPolicy.objects.for_store(self.store).first() or ContactPolicy(store=self.store)
        return ContactPolicyForm(data, instance=policy)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("form", self.get_form())
        return context

    def post(self, request, *args, **kwargs):
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        contact_policy_save(store=self.store, **form.cleaned_data)
        messages.success(request, "Contact rules saved: they apply to the next message due.")
        return redirect(reverse("automations:contact_policy"))
