"""Forms of the webhook pages. The URL goes through the SSRF guard, whose reason is the error shown."""

from django import forms

from ..models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from .ssrf import UnsafeURL, check_url


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="Where to POST each event. https:// is required in production.",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/comeback"}),
    )
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=WebhookEvent.Type.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=list(WebhookEvent.Type.values),
    )
    format = forms.ChoiceField(
        choices=WebhookEndpoint.Format.choices, widget=forms.RadioSelect, initial=WebhookEndpoint.Format.STANDARD
    )
    active = forms.BooleanField(required=False, initial=True)

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        try:
            check_url(url)
        except UnsafeURL as exc:
            raise forms.ValidationError(str(exc), code="unsafe_url") from exc
        return url


class DeliveryFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("", "Any state"), *WebhookDelivery.State.choices], required=False)
    event_type = forms.ChoiceField(choices=[("", "Any event"), *WebhookEvent.Type.choices], required=False)
