"""Forms for automations (with their steps as a formset), translations and tasks."""

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.template import TemplateSyntaxError

from checkouts.models import Membership, Store

from .condition_forms import CONDITION_LABELS, CONDITION_WIDGETS, STEP_CONDITION_LABELS, ConditionsFormMixin
from .messages import defaults
from .messages.engine import validate_template
from .messages.sms import SmsLength, sms_length
from .models import Automation, AutomationStep, StepTranslation
from .services import automation_step_remove

TEMPLATE_HELP = (
    "Django template syntax. Available: {{ first_name }}, {{ last_name }}, {{ buyer_name }}, {{ store_name }}, "
    "{{ total }}, {{ recovery_url }}, {{ unsubscribe_url }}, {{ discount_code }} and {{ items }} "
    "(each with name, quantity, price, image_url, options)."
)


def _template_field_clean(form: forms.Form, name: str) -> str:
    value = form.cleaned_data.get(name, "")
    try:
        validate_template(value)
    except TemplateSyntaxError as exc:
        raise ValidationError(f"This template does not work: {exc}", code="template") from exc
    return value


class AutomationForm(ConditionsFormMixin, forms.ModelForm):
    class Meta:
        model = Automation
        fields = [
            "name",
            "active",
            "require_email",
            "holdout_percent",
            "track_opens",
            *ConditionsFormMixin.condition_fields,
        ]
        labels = {
            **CONDITION_LABELS,
            "track_opens": "Track opens",
            "require_email": "Only buyers who left an email",
            "holdout_percent": "Holdout share (%)",
        }
        widgets = CONDITION_WIDGETS


class StepForm(ConditionsFormMixin, forms.ModelForm):
    class Meta:
        model = AutomationStep
        fields = [
            "position",
            "delay_value",
            "delay_unit",
            "action",
            "subject",
            "body",
            "subject_b",
            "body_b",
            "message",
            "notify_members",
            "task_title",
            "task_assignee",
            "task_due_days",
            *ConditionsFormMixin.condition_fields,
        ]
        labels = {
            **STEP_CONDITION_LABELS,
            "delay_value": "Wait",
            "delay_unit": "Unit",
            "subject_b": "Subject (variant B)",
            "body_b": "Body (variant B)",
            "message": "Text message / notification",
            "notify_members": "Notify these members",
            "task_assignee": "Assign the task to",
            "task_due_days": "Task due after (days)",
        }
        help_texts = {
            "body": TEMPLATE_HELP,
            "position": "Steps run in this order.",
            "subject_b": "Fill in a second subject or body (or both) to A/B test this step: buyers are split "
            "half and half at random, and the automation's page compares the two. A blank field keeps "
            "variant A's. Buyers who read a translation of this step are not in the test.",
        }
        widgets = {
            **CONDITION_WIDGETS,
            "body": forms.Textarea(attrs={"rows": 6}),
            "body_b": forms.Textarea(attrs={"rows": 6}),
            "message": forms.Textarea(attrs={"rows": 2}),
            "notify_members": forms.CheckboxSelectMultiple,
            "position": forms.NumberInput(attrs={"class": "step-position", "min": 1}),
        }

    def __init__(self, *args, store: Store, **kwargs):
        super().__init__(*args, **kwargs)
        members = Membership.objects.for_store(store).select_related("user").order_by("user__username")
        self.fields["notify_members"].queryset = members
        self.fields["task_assignee"].queryset = members
        label = lambda m: m.user.get_full_name() or m.user.get_username()  # noqa: E731
        self.fields["notify_members"].label_from_instance = label
        self.fields["task_assignee"].label_from_instance = label

    @property
    def is_spare(self) -> bool:
        """The optional blank step at the end of the form (none on a new automation); once
        filled in and sent back with an error, it is the merchant's step, no longer spare."""
        return self.instance.pk is None and self.empty_permitted and not (self.is_bound and self.has_changed())

    def has_changed(self) -> bool:
        if self.instance.pk is None:
            if not self.empty_permitted:
                return True  # the required first step of a new automation is saved as shown
            # The spare step's position is renumbered by the page's script, which is not the
            # merchant filling it in: only a changed content or timing field makes it a step.
            return any(name != "position" for name in self.changed_data)
        return super().has_changed()

    def clean_subject(self) -> str:
        return _template_field_clean(self, "subject")

    def clean_body(self) -> str:
        return _template_field_clean(self, "body")

    def clean_subject_b(self) -> str:
        return _template_field_clean(self, "subject_b")

    def clean_body_b(self) -> str:
        return _template_field_clean(self, "body_b")

    def clean_message(self) -> str:
        return _template_field_clean(self, "message")

    def clean_task_title(self) -> str:
        return _template_field_clean(self, "task_title")

    @property
    def message_length(self) -> SmsLength:
        """The text's length in SMS segments as written (before its placeholders are filled in)."""
        return sms_length(str(self["message"].value() or "").replace("\r\n", "\n"))

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == AutomationStep.Action.NOTIFY_STAFF and " ".join(data.get("message", "").split()) == (
            defaults.TEXT_MESSAGE
        ):
            # The buyer's default text a new step starts with, left as is on a staff step, means
            # "the default": the staff notification's own words, not the buyer's.
            data["message"] = ""
        if action == AutomationStep.Action.EMAIL_BUYER and not (data.get("subject") and data.get("body")):
            raise ValidationError("An email step needs a subject and a body.", code="email")
        if action == AutomationStep.Action.NOTIFY_BUYER and not data.get("message"):
            self.add_error("message", "A text message step needs the text to send.")
        if action == AutomationStep.Action.NOTIFY_STAFF and not data.get("notify_members"):
            self.add_error("notify_members", "Choose at least one member to notify.")
        if action == AutomationStep.Action.CREATE_TASK and not data.get("task_title"):
            self.add_error("task_title", "A task step needs a title.")
        return data


class BaseStepFormSet(BaseInlineFormSet):
    """The live steps, plus one spare blank step that is ignored unless filled in.

    The spare starts empty: pre-filled with the default email, posting the page back unchanged
    (browsers submit textarea line breaks as CRLF, so it no longer equals its initial text)
    saved it as a new step on every save. The default words go only into the "Add a step"
    template (`new_step`), which the merchant asks for. A new automation's first step is
    required (min_num) and starts from those words.
    """

    def __init__(self, *args, store: Store, new_step: dict, **kwargs):
        self.store = store
        self.new_step = new_step
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.min_num, self.extra = 1, 0
        # Removed steps are archived, not deleted: only live ones are edited here.
        self.queryset = self.queryset.filter(archived=False).order_by("position", "id")

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "store": self.store}

    @property
    def empty_form(self):
        # The "Add a step" template starts from the same words as the blank extra step.
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            initial=self.new_step,
            store=self.store,
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form

    def delete_existing(self, obj, commit=True):
        if commit:
            automation_step_remove(step=obj)

    def clean(self):
        super().clean()
        live = [f for f in self.forms if f.has_changed() or f.instance.pk]
        live = [f for f in live if not self._should_delete_form(f) and f.cleaned_data]
        if not live:
            raise ValidationError("An automation needs at least one step.", code="no-steps")


def new_step_initial(position: int) -> dict:
    """What an added step starts with, so an email step is never blank."""
    return {
        "position": position,
        "subject": defaults.EMAIL_SUBJECT,
        "body": defaults.EMAIL_BODY,
        "message": defaults.TEXT_MESSAGE,
        "task_title": defaults.TASK_TITLE,
    }


StepFormSet = inlineformset_factory(
    Automation, AutomationStep, form=StepForm, formset=BaseStepFormSet, extra=1, can_delete=True
)


class TranslationForm(forms.ModelForm):
    class Meta:
        model = StepTranslation
        fields = ["language", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}

    def clean_language(self) -> str:
        # "FR" and "fr" are one language: normalised before the formset checks for duplicates.
        return self.cleaned_data["language"].strip().lower().replace("_", "-")

    def clean_subject(self) -> str:
        return _template_field_clean(self, "subject")

    def clean_body(self) -> str:
        return _template_field_clean(self, "body")


TranslationFormSet = inlineformset_factory(
    AutomationStep, StepTranslation, form=TranslationForm, extra=1, can_delete=True
)


class TaskAssignForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=Membership.objects.none(), required=False, empty_label="Nobody")

    def __init__(self, *args, store: Store, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = Membership.objects.for_store(store).select_related("user")
        self.fields["assignee"].label_from_instance = lambda m: m.user.get_full_name() or m.user.get_username()
