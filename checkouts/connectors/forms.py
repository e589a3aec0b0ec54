"""The form that adds or edits a connection: its name, then what its platform asks for (settings and credentials).

Editing, a credential left empty keeps the current one; one typed in replaces it (a rotation).
"""

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

    def __init__(self, *args, connector: Connector, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.connector = connector
        self.editing = editing
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
                label=label,
                max_length=10000,
                required=position == 0 and not editing,
                widget=_CREDENTIAL_WIDGETS[key],
                strip=True,
                help_text="Leave empty to keep the current one; a new one replaces it." if editing else "",
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
        """The credentials typed in; editing, only the ones to replace."""
        values = {key: self.cleaned_data.get(key) or "" for key in self.connector.credentials}
        return {key: value for key, value in values.items() if value} if self.editing else values


def connection_form_initial(connection) -> dict[str, Any]:
    """What the edit form shows: the name and settings as they are, never a credential."""
    return {"name": connection.name, **connection.settings}
