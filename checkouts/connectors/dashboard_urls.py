"""Settings › Connect your store, under /settings/connections/."""

from django.urls import path

from ..models import Connection
from . import views

app_name = "connections"

urlpatterns = [
    path("", views.ConnectionListView.as_view(), name="list"),
    path("new/<str:platform>/", views.ConnectionCreateView.as_view(), name="create"),
    path("<uuid:pk>/", views.ConnectionDetailView.as_view(), name="detail"),
    path("<uuid:pk>/edit/", views.ConnectionEditView.as_view(), name="edit"),
    path("<uuid:pk>/test/", views.ConnectionTestView.as_view(), name="test"),
    path("<uuid:pk>/backfill/", views.ConnectionBackfillView.as_view(), name="backfill"),
    path("<uuid:pk>/pause/", views.ConnectionStatusView.as_view(status=Connection.Status.PAUSED), name="pause"),
    path("<uuid:pk>/resume/", views.ConnectionStatusView.as_view(status=Connection.Status.ACTIVE), name="resume"),
    path("<uuid:pk>/rotate/", views.ConnectionRotateView.as_view(), name="rotate"),
    path("<uuid:pk>/remove/", views.ConnectionDeleteView.as_view(), name="delete"),
]
