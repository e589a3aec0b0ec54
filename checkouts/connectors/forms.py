"""The form that adds a connection: its name, then what its platform asks for (settings and credentials)."""

from typing import Any

from django import forms

from . import Connector

_CREDENTIAL_WIDGETS = {
    "secret": forms.PasswordInput(render_value=True, attrs={"autocomplete": "off"}),
    "secondary_secret": forms.PasswordInput(render_value=True, attrs={"autocomplete": "off"}),
    "public_key": forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
}


class ConnectionForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="For you: which shop or site this is.")

    def __init__(self, *args, connector: Connector, **kwargs):
        super().__init__(*args, **kwargs)
        self.connector = connector
        for key, label in connector.settings_fields.items():
            multiline = key == "origins"
            self.fields[key] = forms.CharField(
                label=label,
                max_length=2000,
                required=key in connector.required_fields,
                widget=forms.Textarea(attrs={"rows": 3}) if multiline else forms.TextInput(),
            )
        for key, label in connector.flag_fields.items():
            self.fields[key] = forms.BooleanField(label=label, required=False)
        for position, (key, label) in enumerate(connector.credentials.items()):
            self.fields[key] = forms.CharField(
                label=label, max_length=10000, required=position == 0, widget=_CREDENTIAL_WIDGETS[key], strip=True
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        settings = self.settings()
        for field, message in self.connector.validate_settings(settings).items():
            self.add_error(field if field in self.fields else None, message)
        return cleaned

    def settings(self) -> dict[str, Any]:
        """Connection.settings from the form: the platform's keys, empty text left out."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        values: dict[str, Any] = {key: data.get(key) or "" for key in self.connector.settings_fields}
        values = {key: value for key, value in values.items() if value}
        values |= {key: bool(data.get(key)) for key in self.connector.flag_fields}
        return values

    def credentials(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(key) or "" for key in self.connector.credentials}
