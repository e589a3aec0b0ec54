"""An automation's discount code: where codes come from, the uploaded pool, what codes earned."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.views.generic import TemplateView

from checkouts.templatetags.dashboard import dashboard_language
from checkouts.wix import format_money

from ..discount_forms import CodeUploadForm, DiscountOfferForm
from ..discount_selectors import discount_offer_for, discount_summary, recent_grants
from ..services.discount_pool import MAX_UPLOAD_BYTES, discount_codes_upload, discount_offer_save
from .automations import AutomationMixin

# Room for the multipart envelope around a file at the size limit (boundaries, the CSRF token).
UPLOAD_OVERHEAD = 16 * 1024


class AutomationDiscountView(AutomationMixin, TemplateView):
    """Every member sees it; a manager sets the offer and uploads codes (AutomationMixin's write role)."""

    template_name = "automations/automation_discount.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        automation = self.get_automation()
        summary = discount_summary(automation=automation)
        context.setdefault(
            "form", DiscountOfferForm(instance=discount_offer_for(automation=automation), store=self.store)
        )
        context.setdefault("upload", CodeUploadForm())
        context.update(
            automation=automation,
            summary=summary,
            revenue=format_money(summary.revenue, self.store.currency, dashboard_language()),
            grants=recent_grants(automation=automation),
        )
        return context

    def post(self, request, *args, **kwargs):
        automation = self.get_automation()
        if int(request.headers.get("Content-Length") or 0) > MAX_UPLOAD_BYTES + UPLOAD_OVERHEAD:
            # Refused before Django reads the body (and spools a big file to disk).
            error = f"The file is larger than {MAX_UPLOAD_BYTES // 1024} kB: split it."
            return self.render_to_response(self.get_context_data(upload_error=error), status=400)
        if request.POST.get("form") == "upload" or "file" in request.FILES:
            return self._upload(request, automation)
        form = DiscountOfferForm(request.POST, instance=discount_offer_for(automation=automation), store=self.store)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        offer = discount_offer_save(form=form)
        messages.success(request, f"Discount code: {offer.get_source_display().lower()}.")
        return redirect("automations:discount", pk=automation.pk)

    def _upload(self, request, automation):
        upload = CodeUploadForm(request.POST, request.FILES)
        if upload.is_valid():
            try:
                report = discount_codes_upload(automation=automation, data=upload.cleaned_data["file"].read())
            except ValidationError as exc:
                upload.add_error("file", exc)
            else:
                parts = [f"{report.added} code{pluralize(report.added)} added"]
                if report.duplicates:
                    parts.append(f"{report.duplicates} already in the list")
                if report.bad:
                    rows = "; ".join(f"line {line}: {why}" if line else why for line, why in report.bad_rows)
                    parts.append(f"{report.bad} row{pluralize(report.bad)} skipped ({rows})")
                level = messages.warning if report.bad else messages.success
                level(request, ", ".join(parts) + ".")
                return redirect("automations:discount", pk=automation.pk)
        return self.render_to_response(self.get_context_data(upload=upload), status=400)
