"""Settings › Connect your store: a store's connections, their setup steps and status (viewers read, managers edit)."""

from collections.abc import Collection
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.timezone import localtime, now
from django.views.generic import TemplateView, View

from ..models import Connection, Membership
from ..services.connections import (
    connection_backfill_start,
    connection_create,
    connection_delete,
    connection_status_set,
    connection_test_send,
    connection_token_rotate,
    connection_update,
)
from ..views.base import DashboardMixin
from . import Connector, connector_for, connectors
from .forms import ConnectionForm, connection_form_initial
from .selectors import connections_with_status


def masked(value: str) -> str:
    return "•" * 8 + value[-4:] if len(value) > 8 else "•" * 8 if value else ""


def detail_context(connection: Connection, *, reveal: Collection[str] = ()) -> dict[str, Any]:
    """A connection's page: its numbered steps, its settings, and its credentials (in full only those in `reveal`)."""
    connector = connector_for(connection.platform)
    credentials = [
        (label, getattr(connection, key) if key in reveal else masked(getattr(connection, key)))
        for key, label in connector.credentials.items()
        if getattr(connection, key)
    ]
    fields = {**connector.settings_fields, **connector.flag_fields}
    shown = [(label, connection.settings[key]) for key, label in fields.items() if key in connection.settings]
    return {
        "connection": connection,
        "steps": connector.setup_steps(connection),
        "credentials": credentials,
        "settings_shown": shown,
        "reveal": bool(reveal),
        "backfills": connector.backfill is not None,
        "grace_until": connection.previous_token_until
        if connection.previous_token and connection.previous_token_until and connection.previous_token_until > now()
        else None,
    }


class ConnectionsMixin(DashboardMixin):
    min_role = Membership.Role.VIEWER
    write_role = Membership.Role.MANAGER

    @cached_property
    def connection(self) -> Connection:
        """The connection named in the URL, among the current store's only: another store's is a 404."""
        return get_object_or_404(connections_with_status(store=self.store), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_edit"] = self.membership.allows(Membership.Role.MANAGER)
        return context


class ConnectionListView(ConnectionsMixin, TemplateView):
    template_name = "connectors/list.html"

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        platforms = dict(Connection.Platform.choices)
        available = [(name, platforms[name], connector.summary) for name, connector in sorted(connectors().items())]
        return super().get_context_data(
            connections=list(connections_with_status(store=self.store)), available=available, **kwargs
        )


class ConnectionCreateView(ConnectionsMixin, TemplateView):
    template_name = "connectors/form.html"
    min_role = Membership.Role.MANAGER

    @cached_property
    def connector(self) -> Connector:
        try:
            return connector_for(self.kwargs["platform"])
        except KeyError:
            raise Http404("No such platform.") from None

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        kwargs.setdefault("form", ConnectionForm(connector=self.connector))
        label = Connection.Platform(self.connector.platform).label
        return super().get_context_data(**{**kwargs, "platform": label})

    def post(self, request, *args, **kwargs):
        form = ConnectionForm(request.POST, connector=self.connector)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        connection = connection_create(
            store=self.store,
            platform=self.connector.platform,
            name=form.cleaned_data["name"],
            settings=form.settings(),
            **form.credentials(),
        )
        connection = connections_with_status(store=self.store).get(pk=connection.pk)
        return self.revealing(connection, reveal=self.connector.credentials)

    def revealing(self, connection: Connection, *, reveal: Collection[str]):
        """The connection's page with `reveal` in full: in this one response only; the page masks them afterwards."""
        response = self.response_class(
            request=self.request,
            template=[ConnectionDetailView.template_name],
            # The mixin's context, without the form's that this view's own get_context_data adds.
            context=ConnectionsMixin.get_context_data(self, **detail_context(connection, reveal=reveal)),
        )
        response["Cache-Control"] = "no-store"
        return response


class ConnectionEditView(ConnectionCreateView):
    """Change a connection's name and settings, or rotate a credential: the new one is shown once."""

    @cached_property
    def connector(self) -> Connector:
        return connector_for(self.connection.platform)

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        initial = connection_form_initial(self.connection)
        kwargs.setdefault("form", ConnectionForm(connector=self.connector, editing=True, initial=initial))
        return super().get_context_data(connection=self.connection, **kwargs)

    def post(self, request, *args, **kwargs):
        form = ConnectionForm(request.POST, connector=self.connector, editing=True)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        replaced = connection_update(
            connection=self.connection,
            name=form.cleaned_data["name"],
            settings=form.settings(),
            credentials=form.credentials(),
        )
        if replaced:
            note = "Saved. The new secret is shown below this once: copy it now."
            if "secret" in replaced and self.connection.previous_secret_until:
                until = date_format(localtime(self.connection.previous_secret_until), "DATETIME_FORMAT")
                note += f" Deliveries signed with the old one are still accepted until {until}."
            messages.success(request, note)
            return self.revealing(self.connection, reveal=replaced)
        messages.success(request, "Saved.")
        return redirect("connections:detail", pk=self.connection.pk)


class ConnectionDetailView(ConnectionsMixin, TemplateView):
    template_name = "connectors/detail.html"

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return super().get_context_data(**detail_context(self.connection), **kwargs)


class _ConnectionAction(ConnectionsMixin, View):
    min_role = Membership.Role.MANAGER
    http_method_names = ["post"]

    def done(self) -> HttpResponseRedirect:
        return redirect("connections:detail", pk=self.connection.pk)


class ConnectionTestView(_ConnectionAction):
    def post(self, request, *args, **kwargs):
        results = connection_test_send(connection=self.connection)
        failed = [result for result in results if not result.success]
        if failed:
            messages.error(request, f"The test event was refused: {failed[0].description}")
        else:
            outcomes = ", ".join((result.outcome or "").lower().replace("_", " ") for result in results)
            messages.success(
                request,
                f"Sent {len(results)} test event{'s' if len(results) != 1 else ''} for a test checkout "
                f"({outcomes}). It is completed, so it never counts as abandoned.",
            )
        return self.done()


class ConnectionStatusView(_ConnectionAction):
    status: str = Connection.Status.PAUSED

    def post(self, request, *args, **kwargs):
        if connection_status_set(connection=self.connection, status=self.status):
            if self.status == Connection.Status.PAUSED:
                messages.success(request, "Paused: deliveries are acknowledged and ignored until you resume.")
            else:
                messages.success(request, "Resumed: deliveries are taken again.")
        return self.done()


class ConnectionRotateView(_ConnectionAction):
    """A new webhook URL (or publishable key): the old one keeps working for 24 hours unless told to stop now."""

    def post(self, request, *args, **kwargs):
        immediately = request.POST.get("immediately") == "on"
        connection_token_rotate(connection=self.connection, immediately=immediately)
        if immediately:
            messages.success(request, "New address made. The old one is refused from now on: update your platform.")
        else:
            messages.success(
                request,
                "New address made: paste it into your platform now. The old one keeps working for 24 hours, "
                "then it is refused.",
            )
        return self.done()


class ConnectionDeleteView(ConnectionsMixin, TemplateView):
    template_name = "connectors/confirm_delete.html"
    min_role = Membership.Role.MANAGER

    def get_context_data(self, **kwargs) -> dict[str, Any]:
        return super().get_context_data(connection=self.connection, **kwargs)

    def post(self, request, *args, **kwargs):
        connection_delete(connection=self.connection)
        messages.success(request, f"Removed “{self.connection}”. Its addresses and key stop working at once.")
        return HttpResponseRedirect(reverse("connections:list"))


class ConnectionBackfillView(_ConnectionAction):
    def post(self, request, *args, **kwargs):
        if connection_backfill_start(connection=self.connection):
            messages.success(request, "Backfill started: past abandoned checkouts arrive over the next minutes.")
        else:
            messages.error(request, "This platform has no backfill.")
        return self.done()
