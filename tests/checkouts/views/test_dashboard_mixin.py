"""The one rule every dashboard page follows: reading needs `min_role`, any other method `write_role`."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from django.views import View

from checkouts.models import Membership
from checkouts.views.base import DashboardMixin
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db
Role = Membership.Role


class Page(DashboardMixin, View):
    def get(self, request):
        return HttpResponse(str(self.get_context_data()["can_edit"]))

    post = delete = get


def call(method: str, role: str, **roles) -> str:
    membership = MembershipFactory(role=role)
    request = getattr(RequestFactory(), method)("/page/")
    request.user, request.membership = membership.user, membership
    view = type("Configured", (Page,), roles).as_view()
    try:
        return view(request).content.decode()
    except PermissionDenied:
        return "403"


@pytest.mark.parametrize(
    ("roles", "viewer_get", "viewer_post", "manager_post"),
    [
        # `can_edit` (the response body) tells the template whether a write would be allowed.
        ({}, "True", "True", "True"),  # writes need what reads need
        ({"write_role": Role.MANAGER}, "False", "403", "True"),  # a viewer looks, a manager changes
        ({"min_role": Role.MANAGER}, "403", "403", "True"),
        ({"min_role": Role.OWNER}, "403", "403", "403"),
    ],
)
def test_reads_need_min_role_and_writes_need_write_role(roles, viewer_get, viewer_post, manager_post):
    assert call("get", Role.VIEWER, **roles) == viewer_get
    assert call("post", Role.VIEWER, **roles) == viewer_post
    # Every unsafe method is a write, not only POST.
    assert call("delete", Role.VIEWER, **roles) == viewer_post
    assert call("post", Role.MANAGER, **roles) == manager_post
