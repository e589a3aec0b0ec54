"""Dashboard forms: the list's filter bar, the overview period, store settings, members, API keys."""

import zoneinfo
from datetime import timedelta

from babel.numbers import list_currencies
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import Q
from django.forms.utils import ErrorDict

from .filters import CUSTOM_PERIOD, PERIOD_CHOICES, SORT_CHOICES
from .models import AbandonedCheckout, Activity, ApiKey, Membership, Store
from .models.store import validate_language

YES_NO_ANY = [("", "Any"), ("true", "Yes"), ("false", "No")]
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
# A custom overview range is charted day by day; a year of bars is the most that stays readable.
MAX_CUSTOM_DAYS = 366


class CheckoutFilterForm(forms.Form):
    """The filter bar of the list. Same names as AbandonedCheckoutFilter, which does the filtering
    and the validating; this form only renders the fields (friendly choices, labels) and shows the
    FilterSet's errors, each once, under its field and prefixed with the field's label."""

    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Email, name, phone or order", "autocomplete": "off"}
        ),
    )
    status = forms.ChoiceField(
        required=False, label="Status", choices=[("", "Any status"), *AbandonedCheckout.Status.choices]
    )
    period = forms.ChoiceField(required=False, label="Abandoned", choices=[("", "Any time"), *PERIOD_CHOICES])
    created_after = forms.DateField(
        required=False, label="Abandoned from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_before = forms.DateField(
        required=False, label="Abandoned until", widget=forms.DateInput(attrs={"type": "date"})
    )
    # Text inputs, not type=number: a browser empties a number input holding "lots", and the
    # merchant should see the value the message is about. inputmode keeps the phone's keypad.
    total_min = forms.CharField(
        required=False,
        label="Total from",
        widget=forms.TextInput(attrs={"placeholder": "0", "inputmode": "decimal", "size": 6}),
    )
    total_max = forms.CharField(
        required=False,
        label="Total to",
        widget=forms.TextInput(attrs={"placeholder": "Any", "inputmode": "decimal", "size": 6}),
    )
    activity = forms.MultipleChoiceField(
        required=False, label="Activity", choices=Activity.Type.choices, widget=forms.CheckboxSelectMultiple
    )
    has_email = forms.ChoiceField(required=False, label="Has email", choices=YES_NO_ANY)
    email_sent = forms.ChoiceField(required=False, label="Recovery email sent", choices=YES_NO_ANY)
    currency = forms.ChoiceField(required=False, label="Currency", choices=[("", "Any currency")])
    sort = forms.ChoiceField(required=False, label="Sort", choices=SORT_CHOICES)
    per_page = forms.TypedChoiceField(
        required=False,
        label="Rows",
        coerce=int,
        choices=[(size, f"{size} per page") for size in PAGE_SIZES],
        empty_value=DEFAULT_PAGE_SIZE,
    )

    # Filters shown folded away unless one of them is in use.
    MORE = ("activity", "has_email", "currency")

    def __init__(self, *args, filter_errors=None, filter_labels=None, currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.filter_errors = filter_errors or {}
        self.filter_labels = filter_labels or {}
        self.fields["currency"].choices = [("", "Any currency"), *((code, code) for code in currencies)]

    def full_clean(self):
        # Validation is the FilterSet's (the API shares it): running this form's own checks too
        # would show a second message for the same value.
        self._errors = ErrorDict()
        self.cleaned_data = {}
        for name, errors in self.filter_errors.items():
            known = name in self.fields
            label = self.fields[name].label if known else self.filter_labels.get(name, name)
            key = name if known else NON_FIELD_ERRORS
            self._errors.setdefault(key, self.error_class()).extend(
                f"{label}: {error[:1].lower()}{error[1:]}" for error in errors
            )
            if known and getattr(self.fields[name].widget, "input_type", "") == "date":
                # A date picker cannot hold "yesterday": show the bad value as text.
                self.fields[name].widget.input_type = "text"

    @property
    def more_in_use(self) -> bool:
        return any(self.data.get(name) for name in self.MORE) or any(name in self.errors for name in self.MORE)

    @property
    def custom_dates_in_use(self) -> bool:
        return self.data.get("period") in ("", None, CUSTOM_PERIOD) and any(
            self.data.get(name) for name in ("created_after", "created_before")
        )


class PeriodForm(forms.Form):
    """The overview's period: a preset, or a custom range of days (inclusive, store time)."""

    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False, label="Period")
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    DEFAULT = "30d"

    def clean(self):
        data = super().clean()
        period = data.get("period") or self.DEFAULT
        data["period"] = period
        if period != CUSTOM_PERIOD:
            return data
        start, end = data.get("start"), data.get("end")
        if not start or not end:
            raise forms.ValidationError("Pick both a start and an end day for a custom range.", code="required")
        if end < start:
            self.add_error("end", forms.ValidationError("The end day must not be before the start day.", "order"))
        elif (end - start).days >= MAX_CUSTOM_DAYS:
            self.add_error("end", forms.ValidationError(f"Pick at most {MAX_CUSTOM_DAYS} days.", code="too_long"))
        return data


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def _currency_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in sorted(list_currencies())]


class StoreSettingsForm(forms.Form):
    name = forms.CharField(max_length=200, label="Store name")
    storefront_url = forms.URLField(required=False, label="Storefront URL", assume_scheme="https")
    abandon_after_minutes = forms.IntegerField(
        min_value=1,
        max_value=7 * 24 * 60,
        label="Abandoned after (minutes idle)",
        help_text="How long a checkout must sit untouched before it counts as abandoned.",
    )
    recovery_rule = forms.ChoiceField(choices=Store.RecoveryRule.choices, label="Counts as recovered when")
    recovery_window_days = forms.IntegerField(
        min_value=1,
        max_value=365,
        label="Recovery window (days)",
        help_text="For the 'any order' rule: how many days after abandonment an order still counts.",
    )
    time_zone = forms.ChoiceField(label="Time zone", help_text="Dates on every page and in exports use it.")
    currency = forms.ChoiceField(label="Currency")
    language = forms.CharField(
        max_length=16,
        label="Language",
        help_text="Formats amounts and dates, e.g. en, en-GB, fr, de, ja.",
        validators=[validate_language],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _time_zone_choices()
        self.fields["currency"].choices = _currency_choices()

    @classmethod
    def initial_for(cls, store: Store) -> dict:
        return {
            "name": store.name,
            "storefront_url": store.storefront_url,
            "abandon_after_minutes": int(store.abandon_after / timedelta(minutes=1)),
            "recovery_rule": store.recovery_rule,
            "recovery_window_days": store.recovery_window_days,
            "time_zone": store.time_zone,
            "currency": store.currency,
            "language": store.language,
        }

    def store_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["abandon_after"] = timedelta(minutes=data.pop("abandon_after_minutes"))
        return data


class MemberAddForm(forms.Form):
    user = forms.CharField(
        max_length=254,
        label="Username or email",
        help_text="They need an account on this Comeback install already.",
    )
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER, label="Role")

    def __init__(self, *args, store: Store, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = store

    def clean_user(self):
        text = self.cleaned_data["user"].strip()
        users = list(get_user_model().objects.filter(Q(username__iexact=text) | Q(email__iexact=text))[:2])
        if not users:
            raise forms.ValidationError("No account has that username or email.", code="unknown")
        if len(users) > 1:
            raise forms.ValidationError("Several accounts share that email; use the username.", code="ambiguous")
        if Membership.objects.filter(store=self.store, user=users[0]).exists():
            raise forms.ValidationError("They are already a member of this store.", code="exists")
        return users[0]


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices, label="Role")


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name", help_text="Who or what uses it, e.g. 'Storefront sync'.")
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiKey.Scope.READ],
        label="Scopes",
    )


class BuyerEraseForm(forms.Form):
    """The Privacy tab: the address to erase, then (confirmed=1) the go-ahead."""

    email = forms.EmailField(
        label="Buyer's email address",
        max_length=254,
        help_text="Any case. Only this store's data is touched.",
        widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "buyer@example.com"}),
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)
