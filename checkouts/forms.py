"""Dashboard forms: the list's filter bar, the overview period, store settings, members, API keys."""

import unicodedata
import zoneinfo
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from babel import localedata
from babel.core import Locale
from babel.numbers import list_currencies
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import ErrorDict

from .filters import CUSTOM_PERIOD, PERIOD_CHOICES, SORT_CHOICES
from .hosts import hosts_parse
from .models import AbandonedCheckout, Activity, ApiKey, Membership, Store
from .models.store import validate_language
from .widgets import LongSelect

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


@lru_cache(maxsize=1)
def canonical_time_zones() -> tuple[str, ...]:
    """The IANA zones a person would pick: zone.tab's (one per region, current names such as
    Europe/Kyiv and Asia/Kolkata), without the deprecated aliases (US/Eastern, Asia/Calcutta, GB)."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "zone.tab"
        if path.is_file():
            rows = (line.split("\t") for line in path.read_text().splitlines() if line and not line.startswith("#"))
            names = {row[2].strip() for row in rows if len(row) >= 3}
            return tuple(sorted((names & zoneinfo.available_timezones()) | {"UTC"}))
    # No system zone.tab (the tzdata wheel alone): the continental names, which leaves out most aliases.
    regions = (
        "Africa/",
        "America/",
        "Antarctica/",
        "Asia/",
        "Atlantic/",
        "Australia/",
        "Europe/",
        "Indian/",
        "Pacific/",
    )
    return tuple(sorted({z for z in zoneinfo.available_timezones() if z.startswith(regions)} | {"UTC"}))


# Languages whose regional formats differ enough for a merchant to pick one (en-GB dates, fr-CA
# currency, pt-BR numbers); every other language is offered once, without a region.
REGIONAL_LANGUAGES = frozenset({"en", "fr", "de", "es", "pt", "it", "nl", "zh", "ar", "sv"})


@lru_cache(maxsize=1)
def language_choices() -> tuple[tuple[str, str], ...]:
    """Languages with Babel's data, by English name: ("fr-CA", "French (Canada) · fr-CA")."""
    choices = []
    for identifier in localedata.locale_identifiers():
        locale = Locale.parse(identifier)
        if locale.script or locale.variant or (locale.territory and locale.language not in REGIONAL_LANGUAGES):
            continue
        code = identifier.replace("_", "-")
        choices.append((code, f"{locale.get_display_name('en')} · {code}"))
    return tuple(sorted(choices, key=lambda choice: choice[1].casefold()))


def _currency_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in sorted(list_currencies())]


def validate_single_line(value: str) -> None:
    """No line breaks or other control characters: the store name goes into email headers and file names."""
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in value):
        raise forms.ValidationError("Use one line of text, without line breaks or control characters.")


class StoreSettingsForm(forms.Form):
    name = forms.CharField(max_length=200, label="Store name", validators=[validate_single_line])
    storefront_url = forms.URLField(required=False, label="Storefront URL", assume_scheme="https")
    storefront_hosts = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Storefront hosts",
        help_text="One per line: the shop and its media hosts (e.g. static.wixstatic.com). Recovery links "
        "redirect and product images load only from these. Left empty, the storefront URL's host.",
    )
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
    attribution_window_days = forms.IntegerField(
        min_value=1,
        max_value=90,
        required=False,
        label="Attribution window (days)",
        help_text="A recovery is credited to the last email the buyer clicked within this many days before "
        "ordering, else the last one sent within them. Left empty, it stays as it is.",
    )
    time_zone = forms.CharField(
        max_length=64,
        label="Time zone",
        help_text="Type a city or region, e.g. Paris or New York. Dates on every page and in exports use it.",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}),
    )
    currency = forms.ChoiceField(label="Currency", widget=LongSelect)
    language = forms.ChoiceField(
        label="Language",
        widget=LongSelect,
        help_text="What buyers read when their own language is unknown: emails, texts, the recovery page.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = _currency_choices()
        self.fields["language"].choices = language_choices()
        current = self.initial.get("language") or self.data.get("language")
        if current and current not in dict(language_choices()):
            # A code set elsewhere (API, admin) stays selectable, so saving unchanged keeps it.
            self.fields["language"].choices = [*language_choices(), (current, current)]
        self.time_zones = canonical_time_zones()

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"].strip()
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError("Pick a time zone from the list, e.g. Europe/Paris.", code="time_zone")
        return value

    def clean_language(self) -> str:
        value = self.cleaned_data["language"]
        validate_language(value)
        return value

    @classmethod
    def initial_for(cls, store: Store) -> dict:
        return {
            "name": store.name,
            "storefront_url": store.storefront_url,
            "storefront_hosts": "\n".join(store.storefront_hosts),
            "abandon_after_minutes": int(store.abandon_after / timedelta(minutes=1)),
            "recovery_rule": store.recovery_rule,
            "recovery_window_days": store.recovery_window_days,
            "attribution_window_days": store.attribution_window_days,
            "time_zone": store.time_zone,
            "currency": store.currency,
            "language": store.language,
        }

    def clean_storefront_hosts(self) -> list[str]:
        return hosts_parse(self.cleaned_data["storefront_hosts"])

    def store_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["abandon_after"] = timedelta(minutes=data.pop("abandon_after_minutes"))
        if data.get("attribution_window_days") is None:
            data.pop("attribution_window_days", None)  # left empty: unchanged
        return data


class InvitationForm(forms.Form):
    """Invite by email. It never says whether the address has an account on this install."""

    email = forms.EmailField(max_length=254, label="Email")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER, label="Role")

    def __init__(self, *args, store: Store, **kwargs):
        super().__init__(*args, **kwargs)
        self.store = store

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        # Only this store's own members, whom the owner sees listed beside the form.
        if Membership.objects.filter(store=self.store, user__email__iexact=email).exists():
            raise forms.ValidationError("Someone with that email is already a member of this store.", code="exists")
        return email


class InvitationSignupForm(UserCreationForm):
    """A new account for the invited address: a username and a password, nothing else."""

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)


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
