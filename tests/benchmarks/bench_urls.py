"""The app's routes plus `/bench/plain/`: what a straightforward DRF list of the same rows would be.

OFFSET pages with a COUNT(*) (PageNumberPagination), a ModelSerializer over every field,
behind the same API-key authentication as the Wix routes. Only bench_settings.py uses it.

And two anchors, views that do nothing, for what any request costs before its own work:
`/bench/bare/` through the whole middleware chain (sessions, CSRF, user, store, messages, axes),
`/ecom/v1/bench-bare` as a Wix route does (the API fast path, DRF, the key, the throttle).
"""

from django.http import JsonResponse
from django.urls import include, path
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from checkouts.api.auth import ApiKeyAuthentication
from checkouts.api.base import StoreAPIView
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


def bare(request):
    return JsonResponse({})


class BareApiView(StoreAPIView):
    def get(self, request):
        return Response({})


urlpatterns = [
    path("bench/plain/", PlainListView.as_view()),
    path("bench/bare/", bare),
    path("ecom/v1/bench-bare", BareApiView.as_view()),
    path("", include("config.urls")),
]
