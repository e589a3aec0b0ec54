"""The app's routes plus `/bench/plain/`: what a straightforward DRF list of the same rows would be.

OFFSET pages with a COUNT(*) (PageNumberPagination), a ModelSerializer over every field,
behind the same API-key authentication as the Wix routes. Only bench_settings.py uses it.
"""

from django.urls import include, path
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination

from checkouts.api.auth import ApiKeyAuthentication
from checkouts.models import AbandonedCheckout

PAGE = 100


class PlainSerializer(serializers.ModelSerializer):
    class Meta:
        model = AbandonedCheckout
        exclude = ["wire", "wire_stamp"]  # what the list showed before the stored JSON existed


class PlainPagination(PageNumberPagination):
    page_size = PAGE


class PlainListView(generics.ListAPIView):
    serializer_class = PlainSerializer
    pagination_class = PlainPagination
    authentication_classes = [ApiKeyAuthentication]
    filter_backends: list = []
    throttle_classes: list = []

    def get_queryset(self):
        return AbandonedCheckout.objects.filter(store=self.request.user.store).order_by("-created_at", "-id")


urlpatterns = [
    path("bench/plain/", PlainListView.as_view()),
    path("", include("config.urls")),
]
