"""The one FilterSet behind the dashboard list, its CSV export and the DRF API.

Every filter maps onto an index (see AbandonedCheckout.Meta.indexes) or an EXISTS over
the activity index, so a filtered page in a large store stays a bounded index walk.
"""

from datetime import date, datetime, time, timedelta, tzinfo

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_filters.rest_framework import DjangoFilterBackend

from .models import AbandonedCheckout, Activity
from .pagination import SortKey, with_tiebreaker
from .search_text import search_terms

MAX_SEARCH_TERMS = 5

# Preset periods, each ending now and starting at midnight (store time) N - 1 days ago, so
# "Last 7 days" is today plus the six days before it.
PERIODS = {"today": ("Today", 1), "7d": ("Last 7 days", 7), "30d": ("Last 30 days", 30), "90d": ("Last 90 days", 90)}
CUSTOM_PERIOD = "custom"
PERIOD_CHOICES = [(key, label) for key, (label, _) in PERIODS.items()] + [(CUSTOM_PERIOD, "Custom range")]


def period_start(period: str, *, zone, now: datetime | None = None) -> datetime:
    """Midnight in `zone` at the start of a preset period."""
    today = timezone.localtime(now or timezone.now(), zone).date()
    first_day = today - timedelta(days=PERIODS[period][1] - 1)
    return datetime.combine(first_day, time.min, tzinfo=zone)


class DateOrDateTimeField(forms.CharField):
    """Takes 2026-11-01 (a day in the store's time zone) or a full ISO-8601 date-time."""

    def to_python(self, value):
        value = super().to_python(value).strip()
        if not value:
            return None
        parsed = parse_datetime(value.replace("Z", "+00:00")) if "T" in value or " " in value else None
        if parsed is None:
            try:
                parsed = parse_date(value)
            except ValueError:
                parsed = None
        if parsed is None:
            raise forms.ValidationError("Enter a date (2026-11-01) or an ISO-8601 date-time.", code="invalid")
        return parsed


class DateBoundFilter(django_filters.Filter):
    """`>=` a date-time or the start of a day; `<` the end of a day when `end` is True."""

    field_class = DateOrDateTimeField

    def __init__(self, *args, end: bool = False, **kwargs):
        self.end = end
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        if isinstance(value, datetime):
            moment = value if timezone.is_aware(value) else timezone.make_aware(value, self.parent.zone)
            return qs.filter(**{f"{self.field_name}__{'lte' if self.end else 'gte'}": moment})
        day: date = value + timedelta(days=1) if self.end else value
        moment = datetime.combine(day, time.min, tzinfo=self.parent.zone)
        return qs.filter(**{f"{self.field_name}__{'lt' if self.end else 'gte'}": moment})


class StrictBooleanField(forms.Field):
    """true/false (or yes/no, 1/0); anything else is an error rather than silently "any"."""

    TRUE = ("true", "yes", "1", "on")
    FALSE = ("false", "no", "0", "off")

    def to_python(self, value):
        if value in (None, "") or isinstance(value, bool):
            return None if value == "" else value
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError("Choose yes or no.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class FilterForm(forms.Form):
    """The FilterSet's form: the checks that span two fields."""

    def clean(self):
        data = super().clean()
        low, high = data.get("total_min"), data.get("total_max")
        if low is not None and high is not None and low > high:
            self.add_error(
                "total_max",
                forms.ValidationError(
                    "Enter an amount no lower than the minimum total (%(low)s).", "order", {"low": low}
                ),
            )
        return data


class AbandonedCheckoutFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AbandonedCheckout.Status.choices)
    created_after = DateBoundFilter(field_name="created_at", label="Abandoned from")
    created_before = DateBoundFilter(field_name="created_at", end=True, label="Abandoned until")
    updated_after = DateBoundFilter(field_name="updated_at", label="Updated from")
    updated_before = DateBoundFilter(field_name="updated_at", end=True, label="Updated until")
    total_min = django_filters.NumberFilter(field_name="total", lookup_expr="gte", min_value=0, label="Total at least")
    total_max = django_filters.NumberFilter(field_name="total", lookup_expr="lte", min_value=0, label="Total at most")
    currency = django_filters.CharFilter(method="filter_currency", max_length=3, label="Currency")
    has_email = StrictBooleanFilter(method="filter_has_email", label="Has email")
    email_sent = StrictBooleanFilter(method="filter_email_sent", label="Recovery email sent")
    activity = django_filters.MultipleChoiceFilter(
        choices=Activity.Type.choices, method="filter_activity", label="Has activity"
    )
    q = django_filters.CharFilter(method="filter_search", max_length=100, label="Search name, email, phone or order")
    period = django_filters.ChoiceFilter(
        choices=PERIOD_CHOICES,
        method="filter_period",
        label="Abandoned in",
        help_text="A preset (today, 7d, 30d, 90d) replaces created_after/created_before; custom uses them.",
    )

    class Meta:
        model = AbandonedCheckout
        fields = []
        form = FilterForm

    def __init__(self, data=None, queryset=None, *, zone: tzinfo, request=None, prefix=None):
        # The store's time zone turns a day ("2026-11-01", "today") into moments. It is
        # required, not read off the request, so a caller without a store fails here instead
        # of silently filtering in the server's time zone.
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.zone = zone

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.form.cleaned_data.get("period") in PERIODS:
            # A preset wins over dates left in the URL from an earlier custom range.
            self.form.cleaned_data["created_after"] = None
            self.form.cleaned_data["created_before"] = None
        return super().filter_queryset(queryset)

    def filter_period(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value not in PERIODS:
            return qs
        return qs.filter(created_at__gte=period_start(value, zone=self.zone))

    def filter_currency(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(currency=value.upper()) if value else qs

    def filter_has_email(self, qs: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return qs
        return qs.exclude(email_key="") if value else qs.filter(email_key="")

    def filter_email_sent(self, qs: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return qs
        sent = Exists(Activity.objects.filter(abandoned_checkout=OuterRef("pk"), type=Activity.Type.EMAIL_SENT))
        return qs.filter(sent if value else ~sent)

    def filter_activity(self, qs: QuerySet, name: str, value: list[str]) -> QuerySet:
        if not value:
            return qs
        return qs.filter(Exists(Activity.objects.filter(abandoned_checkout=OuterRef("pk"), type__in=value)))

    def filter_search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        """Every word must occur in the name, email, phone digits or order id, accents and case
        folded (checkouts.search_text). On PostgreSQL a pg_trgm GIN index serves the substring match."""
        for variants in search_terms(value, limit=MAX_SEARCH_TERMS):
            match = Q()
            for form in variants:
                match |= Q(search_text__contains=form)
            qs = qs.filter(match)
        return qs


# Sorts the list and the API offer: public name → model field. `id` breaks ties.
ORDERINGS = {
    "created": "created_at",
    "updated": "updated_at",
    "total": "total",
}
DEFAULT_ORDERING = "-created"
SORT_CHOICES = [
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("-updated", "Recently updated"),
    ("updated", "Least recently updated"),
    ("-total", "Highest total"),
    ("total", "Lowest total"),
]


def sort_keys(sort: str | None) -> tuple[str, list[SortKey]]:
    """("-total", keys ending in the id) for a public sort name; unknown names get the default."""
    name = (sort or "").strip()
    if name.lstrip("-") not in ORDERINGS:
        name = DEFAULT_ORDERING
    descending = name.startswith("-")
    return name, with_tiebreaker([SortKey(ORDERINGS[name.lstrip("-")], descending)])


class StoreFilterBackend(DjangoFilterBackend):
    """The API's filter backend: the FilterSet gets the time zone of the API key's store."""

    def get_filterset_kwargs(self, request, queryset, view) -> dict:
        return {**super().get_filterset_kwargs(request, queryset, view), "zone": view.store.zone}
