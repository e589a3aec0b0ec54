"""The automations pages: list, create and edit with steps, on/off, preview, test email, results."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template import TemplateSyntaxError
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.generic import TemplateView

from checkouts.models import Membership
from checkouts.templatetags.dashboard import dashboard_language
from checkouts.views.base import DashboardMixin, safe_next
from checkouts.wix import format_money

from .. import funnel, selectors, stats
from ..discount_selectors import discount_code_preview, discount_summary
from ..forms import AutomationForm, StepFormSet, TranslationFormSet, new_step_initial
from ..messages import render as rendering
from ..messages import variants
from ..messages.sms import sms_length
from ..models import AutomationStep
from ..services import automation_save, automation_set_active, step_translations_save
from ..services.manual import test_email_send

# The rendered email is shown in a sandboxed frame: emails carry inline styles (mail clients
# need them), which the dashboard's own policy rightly forbids. This response may use them,
# run no script, and be framed only by our own pages.
EMAIL_FRAME_CSP = {
    "default-src": ["'none'"],
    "style-src": ["'unsafe-inline'"],
    "img-src": ["https:", "http:", "data:"],
    "frame-ancestors": ["'self'"],
}
email_frame = [csp_override(EMAIL_FRAME_CSP), xframe_options_sameorigin]


class AutomationMixin(DashboardMixin):
    # Every member sees the automations; only a manager changes them.
    write_role = Membership.Role.MANAGER

    def get_automation(self):
        return get_object_or_404(selectors.automations_for_store(store=self.store), pk=self.kwargs["pk"])


class AutomationListView(AutomationMixin, TemplateView):
    template_name = "automations/automation_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        automations = list(
            selectors.automations_for_store(store=self.store).prefetch_related(selectors.live_steps_prefetch())
        )
        counts = selectors.automation_counts(store=self.store)
        context["rows"] = [(a, counts.get(a.pk, selectors.AutomationCounts())) for a in automations]
        return context


class AutomationFormView(AutomationMixin, TemplateView):
    """Create or edit an automation and its steps in one form; the steps are a formset."""

    template_name = "automations/automation_form.html"
    min_role = AutomationMixin.write_role

    def get_object(self):
        return None

    def forms(self, data=None):
        automation = self.get_object()
        form = AutomationForm(data, instance=automation)
        next_position = 1
        if automation is not None:
            next_position = 1 + max((s.position for s in automation.steps.filter(archived=False)), default=0)
        steps = StepFormSet(
            data,
            instance=automation,
            prefix="steps",
            store=self.store,
            new_step=new_step_initial(next_position),
            initial=[new_step_initial(next_position)] if automation is None else None,
        )
        return form, steps

    def get(self, request, *args, **kwargs):
        form, steps = self.forms()
        return self.render_to_response(self.get_context_data(form=form, steps=steps))

    def post(self, request, *args, **kwargs):
        form, steps = self.forms(request.POST)
        if not (form.is_valid() and steps.is_valid()):
            return self.render_to_response(self.get_context_data(form=form, steps=steps), status=400)
        automation = automation_save(store=self.store, form=form, steps=steps)
        messages.success(request, f"Saved “{automation.name}”.")
        return redirect("automations:detail", pk=automation.pk)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["automation"] = self.get_object()
        context["actions"] = AutomationStep.Action
        return context


class AutomationCreateView(AutomationFormView):
    pass


class AutomationUpdateView(AutomationFormView):
    def get_object(self):
        if not hasattr(self, "_automation"):
            self._automation = self.get_automation()
        return self._automation


class AutomationDetailView(AutomationMixin, TemplateView):
    template_name = "automations/automation_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        automation = self.get_automation()
        steps = list(
            automation.steps.filter(archived=False)
            .select_related("task_assignee__user")
            .prefetch_related("translations", "notify_members__user")
        )
        contacted, held_out = selectors.holdout_groups(automation=automation)
        counts = selectors.automation_counts(store=self.store).get(automation.pk, selectors.AutomationCounts())
        discount = discount_summary(automation=automation)
        context.update(
            discount=discount,
            discount_revenue=format_money(discount.revenue, self.store.currency, dashboard_language()),
            automation=automation,
            steps=steps,
            counts=counts,
            contacted=contacted,
            held_out=held_out,
            lift=stats.lift(
                contacted=contacted.checkouts,
                contacted_recovered=contacted.recovered,
                held_out=held_out.checkouts,
                held_out_recovered=held_out.recovered,
                holdout_percent=automation.holdout_percent,
            ),
            holdout_rows=[
                _group_row("Contacted", contacted, self.store),
                _group_row("Held out", held_out, self.store),
            ],
            holdout_history=selectors.holdout_history(automation=automation, zone=self.store.zone),
            held_out_share=f"{held_out.checkouts / (held_out.checkouts + contacted.checkouts) * 100:.1f}%"
            if held_out.checkouts + contacted.checkouts
            else "",
            conditions=automation.condition_phrases(
                money=lambda amount: format_money(amount, self.store.currency, dashboard_language())
            ),
        )
        context.update(self.funnel_context(automation, steps))
        return context

    def funnel_context(self, automation, steps) -> dict:
        period = self.request.GET.get("period", funnel.DEFAULT_PERIOD)
        period = period if period in funnel.PERIODS else funnel.DEFAULT_PERIOD
        funnels = funnel.automation_funnel(automation=automation, steps=steps, since=funnel.period_start(period))
        money = lambda amount: format_money(amount, self.store.currency, dashboard_language())  # noqa: E731
        return {
            "period": period,
            "periods": [("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days"), ("all", "All time")],
            "funnels": [funnel_rows(f, money) for f in funnels],
            "funnel_chart": funnel_chart(funnels, automation.track_opens)
            if any(f.total.sent for f in funnels)
            else None,
        }


def _percent(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%" if whole else "–"


def _funnel_row(label: str, row: funnel.FunnelRow, money) -> dict:
    per_recipient = row.revenue_per_recipient
    return {
        "label": label,
        "sent": row.sent,
        "opened": row.opened,
        "opened_rate": _percent(row.opened, row.sent),
        "clicked": row.clicked,
        "clicked_rate": _percent(row.clicked, row.sent),
        "recovered": row.recovered,
        "recovered_rate": _percent(row.recovered, row.recipients),
        "revenue": money(row.revenue),
        "per_recipient": money(per_recipient) if per_recipient is not None else "–",
    }


def funnel_rows(step_funnel: funnel.StepFunnel, money) -> dict:
    """One step's funnel as the page shows it: its total, then each variant of an A/B step."""
    return {
        "step": step_funnel.step,
        "channel": step_funnel.channel,
        "total": _funnel_row("All", step_funnel.total, money),
        "variants": [_funnel_row(f"Variant {name}", row, money) for name, row in step_funnel.variants.items()],
        "comparison": step_funnel.comparison,
    }


def funnel_chart(funnels: list[funnel.StepFunnel], opens: bool) -> dict:
    """The chart's data, for static/js/funnel.js: one group of bars per step (and variant)."""
    labels, series = [], {"sent": [], "opened": [], "clicked": [], "recovered": []}
    for f in funnels:
        rows = [(f"Step {f.step.position}", f.total)]
        rows += [(f"Step {f.step.position} {name}", row) for name, row in f.variants.items()]
        for label, row in rows:
            labels.append(label)
            for name in series:
                series[name].append(getattr(row, name))
    if not opens:
        del series["opened"]
    return {"labels": labels, "series": series}


def _group_row(label: str, group: selectors.GroupOutcome, store) -> dict:
    per_checkout = group.recovered_value / group.checkouts if group.checkouts else None
    return {
        "label": label,
        "checkouts": group.checkouts,
        "recovered": group.recovered,
        "rate": f"{group.rate * 100:.1f}%" if group.rate is not None else "–",
        "value": format_money(group.recovered_value, store.currency, dashboard_language()),
        "per_checkout": format_money(per_checkout, store.currency, dashboard_language())
        if per_checkout is not None
        else "–",
    }


class AutomationActiveView(AutomationMixin, View):
    def post(self, request, *args, **kwargs):
        automation = self.get_automation()
        active = request.POST.get("active") == "1"
        automation_set_active(automation=automation, active=active)
        messages.success(request, f"“{automation.name}” is {'on' if active else 'off'}.")
        default = reverse("automations:detail", args=[automation.pk])
        # The list's toggle sends the user back to the list; an outside `next` is ignored.
        return redirect(safe_next(request, request.POST.get("next"), default=default, under="/automations/"))


# The steps whose message a buyer reads: an email, or a text.
BUYER_MESSAGES = [AutomationStep.Action.EMAIL_BUYER, AutomationStep.Action.NOTIFY_BUYER]


class PreviewMixin(AutomationMixin):
    """The email (or text) of one step, rendered for a real checkout of the store."""

    actions = [AutomationStep.Action.EMAIL_BUYER]

    def preview(self):
        automation = self.get_automation()
        steps = automation.steps.filter(archived=False, action__in=self.actions)
        step_id = self.request.GET.get("step") or self.request.POST.get("step")
        step = (
            (steps.filter(pk=step_id) if step_id and step_id.isdigit() else steps)
            .prefetch_related("translations")
            .first()
        )
        if step is None:
            raise Http404("This automation has no email step.")
        checkout_id = self.request.GET.get("checkout") or self.request.POST.get("checkout")
        try:
            checkout = selectors.preview_checkout(store=self.store, abandoned_checkout_id=checkout_id or None)
        except ValidationError as exc:  # a malformed id in the query string
            raise Http404("No such checkout.") from exc
        language = self.request.GET.get("language") or self.request.POST.get("language")
        if language in dict(settings.LANGUAGES):
            # "Preview in French": the checkout as if its buyer read French (never saved).
            checkout.buyer_language = language
        # An A/B step previews the variant asked for (?variant=B), else the checkout's own.
        forced = self.request.GET.get("variant") or self.request.POST.get("variant") or ""
        template, self.variant = variants.step_email(
            step, rendering.message_language(checkout, self.store), checkout.pk, variant=forced
        )
        return automation, step, checkout, template


class AutomationPreviewView(PreviewMixin, TemplateView):
    template_name = "automations/automation_preview.html"
    actions = BUYER_MESSAGES

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        automation, step, checkout, template = self.preview()
        # The code this step shows (never handed out by a preview).
        code = discount_code_preview(step=step, abandoned_checkout=checkout)
        email = text = length = None
        error = ""
        try:
            if step.action == AutomationStep.Action.NOTIFY_BUYER:
                text = rendering.text_message(
                    abandoned_checkout=checkout, store=self.store, source=step.message, discount_code=code
                )
                length = sms_length(text)
            else:
                email = rendering.recovery_email(
                    abandoned_checkout=checkout,
                    store=self.store,
                    template=template,
                    idempotency_key="preview",
                    discount_code=code,
                )
        except TemplateSyntaxError as exc:
            error = str(exc)
        context.update(
            automation=automation,
            step=step,
            text=text,
            length=length,
            languages=settings.LANGUAGES,
            language=self.request.GET.get("language", ""),
            email_steps=automation.steps.filter(archived=False, action__in=BUYER_MESSAGES),
            variant=self.variant,
            checkout=checkout,
            checkout_is_sample=checkout._state.adding,
            email=email,
            error=error,
        )
        return context


@method_decorator(email_frame, name="dispatch")
class AutomationPreviewHtmlView(PreviewMixin, View):
    def get(self, request, *args, **kwargs):
        _, step, checkout, template = self.preview()
        try:
            email = rendering.recovery_email(
                abandoned_checkout=checkout,
                store=self.store,
                template=template,
                idempotency_key="preview",
                discount_code=discount_code_preview(step=step, abandoned_checkout=checkout),
            )
        except TemplateSyntaxError as exc:
            return HttpResponse(f"This template does not work: {exc}", content_type="text/plain", status=400)
        return HttpResponse(email.html)


class AutomationTestEmailView(PreviewMixin, View):
    min_role = AutomationMixin.write_role

    def post(self, request, *args, **kwargs):
        automation, step, checkout, template = self.preview()
        if not request.user.email:
            messages.error(request, "Your account has no email address to send the test to.")
        else:
            try:
                code = discount_code_preview(step=step, abandoned_checkout=checkout)
                test_email_send(user=request.user, abandoned_checkout=checkout, template=template, discount_code=code)
                messages.success(request, f"Test email sent to {request.user.email}.")
            except TemplateSyntaxError as exc:
                messages.error(request, f"The template does not work: {exc}")
            except OSError as exc:
                messages.error(request, f"The email could not be sent: {exc}")
        language = request.POST.get("language", "")
        query = f"?step={step.pk}" + (f"&language={language}" if language in dict(settings.LANGUAGES) else "")
        return redirect(f"{reverse('automations:preview', args=[automation.pk])}{query}")


class StepTranslationsView(AutomationMixin, TemplateView):
    """The email of one step in other languages, picked by the buyer's language."""

    template_name = "automations/step_translations.html"
    min_role = AutomationMixin.write_role

    def get_step(self):
        automation = self.get_automation()
        step = get_object_or_404(
            automation.steps.filter(archived=False, action=AutomationStep.Action.EMAIL_BUYER), pk=self.kwargs["step_pk"]
        )
        return automation, step

    def get(self, request, *args, **kwargs):
        automation, step = self.get_step()
        formset = TranslationFormSet(instance=step, prefix="translations")
        return self.render_to_response(self.get_context_data(automation=automation, step=step, formset=formset))

    def post(self, request, *args, **kwargs):
        automation, step = self.get_step()
        formset = TranslationFormSet(request.POST, instance=step, prefix="translations")
        if not formset.is_valid():
            context = self.get_context_data(automation=automation, step=step, formset=formset)
            return self.render_to_response(context, status=400)
        step_translations_save(translations=formset)
        messages.success(request, "Translations saved.")
        return redirect("automations:detail", pk=automation.pk)
