"""The real URLs plus pages a fake plug-in registers, for the extension tests."""

from django.http import HttpResponse
from django.urls import include, path

from config.urls import urlpatterns as real


def fake_view(request, pk=None):
    return HttpResponse(f"fake {request.method} {pk or ''}")


fake = (
    [
        path("fake/", fake_view, name="page"),
        path("fake/<uuid:pk>/nudge/", fake_view, name="nudge"),
        path("fake/bulk-nudge/", fake_view, name="bulk_nudge"),
    ],
    "fake",
)

urlpatterns = [path("", include(fake)), *real]
