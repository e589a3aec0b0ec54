"""The store's contact rules, as the automations page edits them."""

from django import forms

from .models import ContactPolicy


class ContactPolicyForm(forms.ModelForm):
    class Meta:
        model = ContactPolicy
        fields = ["window_hours", "quiet_hours", "day_starts", "day_ends", "require_email_consent"]
        labels = {
            "window_hours": "Contact window (hours)",
            "quiet_hours": "Quiet hours",
            "day_starts": "Day starts at",
            "day_ends": "Day ends at",
            "require_email_consent": "Require marketing consent for emails",
        }
        widgets = {
            "day_starts": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "day_ends": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def clean_window_hours(self) -> int:
        hours = self.cleaned_data["window_hours"]
        if hours > 24 * 30:
            raise forms.ValidationError("At most 720 hours (30 days).")
        return hours

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("day_starts"), cleaned.get("day_ends")
        if starts and ends and starts >= ends:
            self.add_error("day_ends", "The day must end after it starts.")
        return cleaned
