"""The overview: how much was abandoned and won back in a period, by day and by product."""

from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.utils import timezone
from django.views.generic import TemplateView

from ..filters import CUSTOM_PERIOD, PERIOD_CHOICES, PERIODS, period_start
from ..forms import PeriodForm
from ..selectors import (
    PRODUCT_SAMPLE_SIZE,
    abandoned_checkouts_for_store,
    overview_daily,
    overview_figures,
    overview_top_products,
)
from ..templatetags.dashboard import dashboard_language, day_text, money_text
from ..wix import decimal_str
from .base import DashboardMixin


class OverviewView(DashboardMixin, TemplateView):
    template_name = "checkouts/overview.html"

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if self.form.is_bound and not self.form.is_valid():
            response.status_code = 400
        return response

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        store, zone = self.store, self.store.zone
        self.form = PeriodForm(self.request.GET or None)
        valid = self.form.is_bound and self.form.is_valid()
        data = self.form.cleaned_data if valid else {"period": PeriodForm.DEFAULT}
        period = data["period"]
        now = timezone.now()
        if period == CUSTOM_PERIOD:
            start = datetime.combine(data["start"], time.min, tzinfo=zone)
            end = min(datetime.combine(data["end"] + timedelta(days=1), time.min, tzinfo=zone), now)
            label = f"{day_text(data['start'], store, 'yMMMd')} – {day_text(data['end'], store, 'yMMMd')}"
            list_query = {"created_after": data["start"].isoformat(), "created_before": data["end"].isoformat()}
        else:
            start, end, label = period_start(period, zone=zone, now=now), now, PERIODS[period][0]
            list_query = {"period": period}
        figures = overview_figures(store=store, start=start, end=end)
        daily = overview_daily(store=store, start=start, end=end) if figures.abandoned_count else []
        products = overview_top_products(store=store, start=start, end=end) if figures.abandoned_count else []
        context.update(
            form=self.form,
            periods=PERIOD_CHOICES,
            period=period,
            period_label=label,
            figures=figures,
            products=products,
            products_sampled=figures.abandoned_count > PRODUCT_SAMPLE_SIZE,
            product_sample_size=PRODUCT_SAMPLE_SIZE,
            # The custom-range inputs start out showing the period on screen.
            custom_start=timezone.localtime(start, zone).date(),
            custom_end=timezone.localtime(end - timedelta(microseconds=1), zone).date(),
            list_url_query=urlencode(list_query),
            recoverable_query=urlencode({**list_query, "status": "ABANDONED"}),
            # A brand-new store gets the getting-started card instead of empty charts.
            store_is_empty=not figures.abandoned_count and not abandoned_checkouts_for_store(store=store).exists(),
            chart=_chart_data(daily, store) if daily else None,
        )
        return context


def _chart_data(daily, store) -> dict[str, Any]:
    """What static/js/overview.js draws: labels and plain numbers, formatted tooltips included."""
    return {
        "labels": [day_text(point.day, store) for point in daily],
        # Decimal strings: the chart turns them into bar heights, the tooltips show the Babel text.
        "abandoned": [decimal_str(point.abandoned) for point in daily],
        "recovered": [decimal_str(point.recovered) for point in daily],
        "abandonedText": [money_text(point.abandoned, store.currency, store) for point in daily],
        "recoveredText": [money_text(point.recovered, store.currency, store) for point in daily],
        "currency": store.currency,
        "locale": dashboard_language(),
    }
