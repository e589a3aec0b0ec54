"""The signed-in member's notifications (the bell)."""

from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import TemplateView

from checkouts.models import Membership
from checkouts.pagination import SortKey
from checkouts.views.base import DashboardMixin

from .. import selectors
from ..services.records import notifications_mark_read
from .base import KeysetListMixin

PAGE_SIZE = 50


class NotificationMixin(DashboardMixin):
    # Everyone reads and clears their own notifications.
    write_role = Membership.Role.VIEWER


class NotificationListView(KeysetListMixin, NotificationMixin, TemplateView):
    template_name = "automations/notification_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        notifications = selectors.notifications_for(store=self.store, user=self.request.user)
        keys = [SortKey("created_at", True), SortKey("id", True)]
        pager = self.keyset_pager(notifications, keys, limit=PAGE_SIZE, salt="automations.notifications")
        context.update(pager=pager, notifications=pager.items)
        return context


class NotificationsReadView(NotificationMixin, View):
    def post(self, request, *args, **kwargs):
        notifications_mark_read(store=self.store, user=request.user)
        return redirect("automations:notifications")


class NotificationOpenView(NotificationMixin, View):
    """Follow a notification's link; following it marks it read (a write any member may do)."""

    def get(self, request, *args, **kwargs):
        notification = get_object_or_404(
            selectors.notifications_for(store=self.store, user=request.user), pk=self.kwargs["pk"]
        )
        notifications_mark_read(store=self.store, user=request.user, ids=[notification.pk])
        link = notification.link
        if not link or not url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
            return redirect("automations:notifications")
        return redirect(link)
