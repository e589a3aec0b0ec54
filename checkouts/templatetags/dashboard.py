"""Formatting for the store's locale and time zone: money, moments, relative times, percentages."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from babel.core import Locale
from babel.dates import format_date, format_skeleton, format_time, format_timedelta
from babel.numbers import format_decimal, format_percent
from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from checkouts.models import Store
from checkouts.wix import format_money

register = template.Library()


@lru_cache(maxsize=64)
def locale_for(language: str) -> Locale:
    try:
        return Locale.parse((language or "en").replace("-", "_"))
    except (ValueError, LookupError):
        return Locale.parse("en")


def _store(context) -> Store | None:
    request = context.get("request")
    return getattr(request, "store", None) or context.get("store")


def money_text(amount: Decimal | None, currency: str, store: Store | None) -> str:
    if amount is None:
        return ""
    return format_money(amount, currency or (store.currency if store else "USD"), store.language if store else "en")


def exact_text(value: datetime, store: Store | None) -> str:
    """Nov 28, 2026, 10:04 AM / 28 nov. 2026, 10:04: the store's zone, its language's patterns."""
    locale = locale_for(store.language if store else "en")
    local = timezone.localtime(value, store.zone if store else timezone.get_current_timezone())
    pattern = str(locale.datetime_formats["medium"])
    date_part = format_skeleton("yMMMd", local, locale=locale)
    return pattern.replace("{1}", date_part).replace("{0}", format_time(local, "short", locale=locale))


def relative_text(value: datetime, store: Store | None, now: datetime | None = None) -> str:
    """3 hours ago / il y a 3 heures."""
    delta = value - (now or timezone.now())
    return format_timedelta(delta, add_direction=True, locale=locale_for(store.language if store else "en"))


def day_text(value: date, store: Store | None, skeleton: str = "MMMd") -> str:
    return format_skeleton(skeleton, value, locale=locale_for(store.language if store else "en"))


@register.simple_tag(takes_context=True)
def money(context, amount, currency=""):
    """{% money ac.total ac.currency %} → $1,234.50 (Babel, the store's language)."""
    return money_text(amount, currency, _store(context))


@register.simple_tag(takes_context=True)
def exact(context, value):
    return exact_text(value, _store(context)) if value else ""


@register.simple_tag(takes_context=True)
def when(context, value):
    """A relative time with the exact one (store time) as its tooltip and machine-readable value."""
    if not value:
        return ""
    store = _store(context)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        exact_text(value, store),
        relative_text(value, store),
    )


@register.simple_tag(takes_context=True)
def day(context, value):
    return format_date(value, "medium", locale=locale_for(getattr(_store(context), "language", "en"))) if value else ""


@register.simple_tag(takes_context=True)
def number(context, value):
    return format_decimal(value or 0, locale=locale_for(getattr(_store(context), "language", "en")))


@register.simple_tag(takes_context=True)
def percent(context, value):
    """0.1534 → 15.3 %; nothing to divide by → an em dash."""
    if value is None:
        return "—"
    return format_percent(value, "#,##0.0%", locale=locale_for(getattr(_store(context), "language", "en")))


@register.filter
def time_since(value) -> str:
    """How long ago `value` was, for "Failing for …": timesince, but "less than a minute" where
    it would say "0 minutes"."""
    if not value:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return "less than a minute"
    return timesince(value)


@register.filter
def duration(value) -> str:
    """timedelta(minutes=90) → "90 minutes", timedelta(hours=2) → "2 hours"."""
    minutes = int(value.total_seconds() // 60) if value else 0
    if minutes and minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
