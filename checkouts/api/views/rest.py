"""The REST API under /api/v1/: abandoned checkouts with the dashboard's filters, keyset pages.

The filters are the dashboard's FilterSet (`checkouts.filters.AbandonedCheckoutFilter`) as
plain query parameters; items are in the same Wix shape as /ecom/v1/. Pages are keyset
pages behind signed `cursor` links, so page 500 costs what page 1 costs.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.pagination import BasePagination
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from ...filters import DEFAULT_ORDERING, ORDERINGS, AbandonedCheckoutFilter, StoreFilterBackend
from ...pagination import BadCursor, KeysetPager, SortKey, with_tiebreaker
from ...selectors import abandoned_checkouts_with_activities
from ...wix import AbandonedCheckoutWixSerializer
from ..base import StoreGenericAPIView
from ..errors import RULE_FORMAT, NotFound, WixValidationError, invalid_cursor, violation
from ..openapi.entities import AbandonedCheckoutSerializer
from ..openapi.responses import with_errors
from ..renderers import FastJSONRenderer
from ..wql import parse_guid

TAG = "Abandoned Checkouts (REST)"
ORDERING_CHOICES = [*ORDERINGS, *(f"-{name}" for name in ORDERINGS)]
RETRY_AFTER = OpenApiParameter("Retry-After", int, OpenApiParameter.HEADER, response=[429])


def ordering_keys(ordering: str) -> list[SortKey]:
    return with_tiebreaker([SortKey(ORDERINGS[ordering.lstrip("-")], ordering.startswith("-"))])


class KeysetCursorPagination(BasePagination):
    """`next` / `previous` links carrying a `KeysetPager` cursor bound to the store and the ordering."""

    page_size = 50
    max_page_size = 100
    salt = "checkouts.api.rest"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        ordering = view.ordering()
        self.limit = self._page_size(request)
        keys = ordering_keys(ordering)
        self.pager = KeysetPager(salt=self.salt, store=view.store.pk, ordering=ordering)
        cursor = None
        token = request.query_params.get("cursor")
        if token:
            try:
                cursor = self.pager.read(token, keys=keys)
            except BadCursor as exc:
                raise invalid_cursor("cursor") from exc
        self.page = self.pager.page(queryset, keys, limit=self.limit, cursor=cursor)
        return self.page.items

    def _page_size(self, request) -> int:
        raw = request.query_params.get("page_size")
        if raw is None:
            return self.page_size
        if not raw.isdigit() or int(raw) < 1:
            raise WixValidationError([violation("page_size", "page_size is a positive integer.", RULE_FORMAT)])
        return min(int(raw), self.max_page_size)

    def _link(self, position, backward: bool) -> str:
        token = self.pager.issue(position, backward=backward)
        return replace_query_param(self.request.build_absolute_uri(), "cursor", token)

    def get_paginated_response(self, data):
        page = self.page
        next_link = self._link(page.next_position, False) if page.has_next and page.items else None
        previous_link = None
        if page.previous_position is not None:
            previous_link = self._link(page.previous_position, True)
        elif page.has_previous:
            previous_link = remove_query_param(self.request.build_absolute_uri(), "cursor")
        return Response({"next": next_link, "previous": previous_link, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "From a `next` or `previous` link.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": f"Items per page (default {self.page_size}, at most {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


class RestViewMixin:
    renderer_classes = [FastJSONRenderer, BrowsableAPIRenderer]
    serializer_class = AbandonedCheckoutWixSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "store": self.store}


@extend_schema_view(
    get=extend_schema(
        operation_id="listAbandonedCheckouts",
        summary="List abandoned checkouts",
        description="The dashboard's filters as query parameters; items in the Wix shape.",
        tags=[TAG],
        parameters=[
            OpenApiParameter("ordering", str, enum=ORDERING_CHOICES, description=f"Default {DEFAULT_ORDERING}."),
            RETRY_AFTER,
        ],
        responses=with_errors({200: AbandonedCheckoutSerializer(many=True)}, body=False),
    )
)
class AbandonedCheckoutListView(RestViewMixin, StoreGenericAPIView, ListAPIView):
    filter_backends = [StoreFilterBackend]
    filterset_class = AbandonedCheckoutFilter
    pagination_class = KeysetCursorPagination

    def ordering(self) -> str:
        value = self.request.query_params.get("ordering", DEFAULT_ORDERING)
        if value not in ORDERING_CHOICES:
            raise WixValidationError(
                [violation("ordering", f"ordering is one of {', '.join(ORDERING_CHOICES)}.", RULE_FORMAT)]
            )
        return value

    def get_queryset(self):
        return abandoned_checkouts_with_activities(super().get_queryset())


@extend_schema_view(
    get=extend_schema(
        operation_id="retrieveAbandonedCheckout",
        summary="Get an abandoned checkout",
        tags=[TAG],
        parameters=[
            OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Abandoned checkout id."),
            RETRY_AFTER,
        ],
        responses=with_errors({200: AbandonedCheckoutSerializer}, 404, body=False),
    )
)
class AbandonedCheckoutDetailView(RestViewMixin, StoreGenericAPIView, RetrieveAPIView):
    def get_object(self):
        pk = parse_guid(self.kwargs["id"])
        if pk is None:
            raise NotFound(f"Abandoned checkout {self.kwargs['id']!r} was not found.")
        row = abandoned_checkouts_with_activities(self.get_queryset()).filter(pk=pk).first()
        if row is None:
            raise NotFound(f"Abandoned checkout {pk} was not found.", {"id": str(pk)})
        return row
