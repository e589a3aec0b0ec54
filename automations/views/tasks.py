"""The follow-up tasks automations create: a list with filters, done / reopen, assign."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from checkouts.models import Membership
from checkouts.pagination import SortKey
from checkouts.views.base import DashboardMixin, safe_next

from .. import selectors
from ..forms import TaskAssignForm
from ..services.records import task_assign, task_set_done
from .base import KeysetListMixin

PAGE_SIZE = 50
FILTERS = [("open", "Open"), ("mine", "Mine"), ("done", "Done"), ("all", "All")]
# Open work by due date, oldest first; done work by when it was done, newest first.
ORDERS = {
    "open": [SortKey("due_at", False), SortKey("id", False)],
    "mine": [SortKey("due_at", False), SortKey("id", False)],
    "done": [SortKey("done_at", True), SortKey("id", True)],
    "all": [SortKey("created_at", True), SortKey("id", True)],
}


class TaskListView(KeysetListMixin, DashboardMixin, TemplateView):
    template_name = "automations/task_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        show = self.request.GET.get("show", "open")
        if show not in ORDERS:
            show = "open"
        tasks = selectors.tasks_for_store(store=self.store, show=show, user=self.request.user)
        pager = self.keyset_pager(tasks, ORDERS[show], limit=PAGE_SIZE, salt="automations.tasks")
        members = list(selectors.store_members(store=self.store))
        context.update(
            show=show,
            filters=FILTERS,
            pager=pager,
            tasks=pager.items,
            members=members,
            can_assign=self.membership.allows(Membership.Role.MANAGER),
        )
        return context


class TaskActionMixin(DashboardMixin):
    # Whoever works the tasks may close them, viewers included; reassigning is a manager's call.
    write_role = Membership.Role.VIEWER

    def get_task(self):
        return get_object_or_404(selectors.tasks_for_store(store=self.store, show="all"), pk=self.kwargs["pk"])

    def back(self):
        default = reverse("automations:tasks")
        return redirect(safe_next(self.request, self.request.POST.get("next"), default=default, under="/tasks/"))


class TaskDoneView(TaskActionMixin, View):
    def post(self, request, *args, **kwargs):
        task = self.get_task()
        done = request.POST.get("done", "1") == "1"
        task_set_done(task=task, done=done, user=request.user)
        messages.success(request, f"“{task.title}” is {'done' if done else 'open again'}.")
        return self.back()


class TaskAssignView(TaskActionMixin, View):
    write_role = Membership.Role.MANAGER

    def post(self, request, *args, **kwargs):
        task = self.get_task()
        form = TaskAssignForm(request.POST, store=self.store)
        if form.is_valid():
            membership = form.cleaned_data["assignee"]
            task_assign(task=task, assignee=membership.user if membership else None)
            who = membership.user.get_username() if membership else "nobody"
            messages.success(request, f"“{task.title}” is assigned to {who}.")
        else:
            messages.error(request, "Choose a member of this store.")
        return self.back()
