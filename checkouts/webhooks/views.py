"""The webhook settings pages: endpoints, their secrets and their delivery logs (managers and owners)."""

from django.conf import settings
from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.generic import FormView, TemplateView, View

from ..models import Membership, WebhookDelivery, WebhookEndpoint
from ..pagination import BadPageLinkMixin, KeysetPager, SortKey
from ..views.base import DashboardMixin
from .forms import DeliveryFilterForm, EndpointForm
from .selectors import webhook_deliveries_for_endpoint, webhook_endpoints_for_store
from .services import (
    webhook_deliveries_redeliver_failed,
    webhook_delivery_redeliver,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_send_test,
    webhook_endpoint_update,
)

LOG_PAGE_SIZE = 50
LOG_KEYS = [SortKey("id", descending=True)]
CURSOR_SALT = "webhooks.delivery-log"


class WebhooksMixin(DashboardMixin):
    """The webhook pages: managers and owners, for reading and writing alike."""

    min_role = Membership.Role.MANAGER

    @cached_property
    def endpoint(self) -> WebhookEndpoint:
        """The endpoint named in the URL, looked up among the current store's only: another store's is a 404."""
        return get_object_or_404(webhook_endpoints_for_store(store=self.store), pk=self.kwargs["pk"])


class EndpointListView(WebhooksMixin, TemplateView):
    template_name = "webhooks/endpoint_list.html"

    def get_context_data(self, **kwargs):
        endpoints = list(webhook_endpoints_for_store(store=self.store))
        return super().get_context_data(
            store=self.store,
            endpoints=endpoints,
            disabled=[e for e in endpoints if e.disabled_reason],
            app_id=settings.COMEBACK_WEBHOOK_APP_ID,
            **kwargs,
        )


class EndpointCreateView(WebhooksMixin, FormView):
    template_name = "webhooks/endpoint_form.html"
    form_class = EndpointForm

    def form_valid(self, form):
        endpoint = webhook_endpoint_create(store=self.store, **form.cleaned_data)
        messages.success(self.request, "Endpoint added. Its signing secret is below.")
        return HttpResponseRedirect(reverse("webhooks:detail", args=[endpoint.pk]))


class EndpointUpdateView(WebhooksMixin, FormView):
    template_name = "webhooks/endpoint_form.html"
    form_class = EndpointForm

    def get_initial(self):
        e = self.endpoint
        return {
            "url": e.url,
            "description": e.description,
            "event_types": e.event_types,
            "format": e.format,
            "active": e.active,
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(endpoint=self.endpoint, **kwargs)

    def form_valid(self, form):
        webhook_endpoint_update(endpoint=self.endpoint, **form.cleaned_data)
        messages.success(self.request, "Endpoint saved.")
        return HttpResponseRedirect(reverse("webhooks:detail", args=[self.endpoint.pk]))


class EndpointDeleteView(WebhooksMixin, TemplateView):
    template_name = "webhooks/endpoint_confirm_delete.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(endpoint=self.endpoint, **kwargs)

    def post(self, request, *args, **kwargs):
        endpoint = self.endpoint
        webhook_endpoint_delete(endpoint=endpoint)
        messages.success(request, f"Endpoint {endpoint.url} deleted.")
        return HttpResponseRedirect(reverse("webhooks:list"))


class EndpointDetailView(BadPageLinkMixin, WebhooksMixin, TemplateView):
    """The endpoint, its secret and its delivery log (filters, keyset pages)."""

    template_name = "webhooks/endpoint_detail.html"

    def get_context_data(self, **kwargs):
        endpoint = self.endpoint
        filters = DeliveryFilterForm(self.request.GET or None)
        chosen = filters.cleaned_data if filters.is_valid() else {}
        queryset = webhook_deliveries_for_endpoint(
            endpoint=endpoint, state=chosen.get("state", ""), event_type=chosen.get("event_type", "")
        )
        # A page link pages this endpoint's log only, whichever filters the URL carries.
        pager = KeysetPager(salt=CURSOR_SALT, store=self.store.pk, endpoint=endpoint.pk)
        cursor = self.page_link_cursor(pager, LOG_KEYS)
        page = pager.page(queryset, LOG_KEYS, limit=LOG_PAGE_SIZE, cursor=cursor)
        # Every attempt of the page's deliveries, earlier rounds included, in one query.
        prefetch_related_objects(page.items, "attempt_log")
        base = {k: v for k, v in chosen.items() if v}
        return super().get_context_data(
            store=self.store,
            endpoint=endpoint,
            rotation_until=endpoint.previous_secret_expires_at
            if len(endpoint.signing_secrets(timezone.now())) > 1
            else None,
            filters=filters,
            page=page,
            next_url=pager.link_query(base, page.next_position, backward=False),
            previous_url=pager.link_query(base, page.previous_position, backward=True),
            **kwargs,
        )


class EndpointActionView(WebhooksMixin, View):
    """A POST button on the endpoint page; subclasses do one thing and say what they did."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        endpoint = self.endpoint
        messages.success(request, self.act(endpoint))
        return HttpResponseRedirect(reverse("webhooks:detail", args=[endpoint.pk]))

    def act(self, endpoint: WebhookEndpoint) -> str:
        raise NotImplementedError


class RotateSecretView(EndpointActionView):
    def act(self, endpoint):
        webhook_endpoint_rotate_secret(endpoint=endpoint)
        return (
            "New secret created. For the next 24 hours deliveries carry signatures from both the old and new secrets."
        )


class SendTestView(EndpointActionView):
    def act(self, endpoint):
        if not endpoint.active:
            return "Switch the endpoint on to send a test event."
        webhook_endpoint_send_test(endpoint=endpoint)
        return "Test event sent. It appears in the log below."


class RedeliverFailedView(EndpointActionView):
    def act(self, endpoint):
        if not endpoint.active:
            return "Switch the endpoint on before redelivering."
        count = webhook_deliveries_redeliver_failed(endpoint=endpoint)
        return f"{count} failed deliveries queued again." if count else "There were no failed deliveries."


class RedeliverView(EndpointActionView):
    def act(self, endpoint):
        delivery = get_object_or_404(WebhookDelivery.objects.filter(endpoint=endpoint), pk=self.kwargs["delivery_id"])
        if not endpoint.active:
            return "Switch the endpoint on before redelivering."
        if webhook_delivery_redeliver(delivery=delivery):
            return f"Delivery of {delivery.get_event_type_display().lower()} event #{delivery.sequence} queued again."
        return "That delivery is being sent right now."
