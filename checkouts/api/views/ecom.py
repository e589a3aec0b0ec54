"""The Wix-compatible Abandoned Checkouts API under /ecom/v1/ (reference §3 and §8).

Same paths, bodies, names and errors as Wix, so an app written against Wix's REST API or
its JavaScript SDK works unchanged. Every method reads from `self.abandoned_checkouts()`,
the current store's rows; another store's id is NOT_FOUND like an unknown one.
"""

from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from ...models import ApiKey
from ...services import abandoned_checkout_delete
from ...wire import wire_fragments
from ..analytics import AnalyticsRequestSerializer, AnalyticsResponseSerializer, abandoned_checkout_analytics
from ..base import StoreAPIView
from ..errors import RULE_FORMAT, RULE_MAX_SIZE, RULE_MIN_SIZE, NotFound, WixValidationError, violation
from ..listing import Lister, QueryRequestSerializer, query_body
from ..openapi import requests as docs
from ..openapi.responses import with_errors
from ..search import SearchRequestSerializer, search_condition, search_details
from ..wql import QUERY_SPEC, SEARCH_SPEC, parse_guid

TAG = "Abandoned Checkouts (Wix-compatible)"
BULK_LIMIT = 100
RETRY_AFTER = OpenApiParameter(
    "Retry-After", int, OpenApiParameter.HEADER, response=[429], description="Seconds to wait."
)
ID_PARAMETER = OpenApiParameter(
    "abandonedCheckoutId", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Abandoned checkout ID."
)


def guid_argument(raw, field: str) -> UUID:
    if (guid := parse_guid(raw)) is None:
        raise WixValidationError([violation(field, f"{raw!r} is not a GUID.", RULE_FORMAT)])
    return guid


def validated(serializer_class, data) -> dict:
    """The body, checked by its serializer: a 400 naming every field it gets wrong."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def json_object(data, field: str = "body") -> dict:
    if not isinstance(data, dict):
        raise WixValidationError([violation(field, "Expected a JSON object.", RULE_FORMAT)])
    return data


def not_found(pk: UUID) -> NotFound:
    return NotFound(f"Abandoned checkout {pk} was not found.", {"abandonedCheckoutId": str(pk)})


class AbandonedCheckoutView(StoreAPIView):
    """GET and DELETE one abandoned checkout. The SDK repeats the id in the query string: ignored."""

    scopes = {"DELETE": ApiKey.Scope.DELETE}

    @extend_schema(
        operation_id="GetAbandonedCheckout",
        summary="Get Abandoned Checkout",
        tags=[TAG],
        parameters=[ID_PARAMETER, RETRY_AFTER],
        responses=with_errors({200: docs.GetAbandonedCheckoutResponseSerializer}, 404, body=False),
    )
    def get(self, request, abandonedCheckoutId: str):
        pk = guid_argument(abandonedCheckoutId, "abandonedCheckoutId")
        rows = list(self.abandoned_checkouts().filter(pk=pk))  # in full: one row, built at once if stale
        entities = wire_fragments(rows, store=self.store)
        if not entities:
            raise not_found(pk)
        return Response({"abandonedCheckout": entities[0]})

    @extend_schema(
        operation_id="DeleteAbandonedCheckout",
        summary="Delete Abandoned Checkout",
        description="Deletes it and sends the `wix.ecom.v1.abandoned_checkout_deleted` webhook event.",
        tags=[TAG],
        parameters=[ID_PARAMETER, RETRY_AFTER],
        responses=with_errors({200: docs.EmptySerializer}, 404, body=False),
    )
    def delete(self, request, abandonedCheckoutId: str):
        pk = guid_argument(abandonedCheckoutId, "abandonedCheckoutId")
        if not abandoned_checkout_delete(abandoned_checkout_id=pk, store=self.store):
            raise not_found(pk)
        return Response({})


class QueryView(StoreAPIView):
    @extend_schema(
        operation_id="QueryAbandonedCheckouts",
        summary="Query Abandoned Checkouts",
        description=(
            "Filter, sort and page (cursorPaging, up to 100; or paging with total). A follow-up page sends "
            "only `cursorPaging.cursor`: the cursor carries the filter, sort and position."
        ),
        tags=[TAG],
        parameters=[RETRY_AFTER],
        request=docs.QueryAbandonedCheckoutsRequestSerializer,
        responses=with_errors({200: docs.QueryAbandonedCheckoutsResponseSerializer}),
    )
    def post(self, request):
        query = query_body(request.data)
        if query is None:
            query = validated(QueryRequestSerializer, request.data)["query"]
        lister = Lister(kind="query", spec=QUERY_SPEC, store=self.store, path="query")
        items, metadata = lister.page(self.abandoned_checkouts(), lister.parse(query))
        return Response({"abandonedCheckouts": items, "results": items, "metadata": metadata})


class SearchView(StoreAPIView):
    @extend_schema(
        operation_id="SearchAbandonedCheckouts",
        summary="Search Abandoned Checkouts",
        description=(
            "Free text over buyerInfo.email and contactDetails.firstName / lastName (each word a "
            "case-insensitive prefix; mode OR or AND), plus Search's filters and date sorts."
        ),
        tags=[TAG],
        parameters=[RETRY_AFTER],
        request=docs.SearchAbandonedCheckoutsRequestSerializer,
        responses=with_errors({200: docs.SearchAbandonedCheckoutsResponseSerializer}),
    )
    def post(self, request):
        search = validated(SearchRequestSerializer, request.data).get("search") or {}
        lister = Lister(kind="search", spec=SEARCH_SPEC, store=self.store, path="search")
        listing = lister.parse(search, search_details(search.get("search")))
        items, metadata = lister.page(self.abandoned_checkouts(), listing, search_condition(listing.search))
        return Response({"abandonedCheckouts": items, "pagingMetadata": metadata})


class BulkDeleteView(StoreAPIView):
    scopes = {"POST": ApiKey.Scope.DELETE}

    @extend_schema(
        operation_id="BulkDeleteAbandonedCheckouts",
        summary="Bulk Delete Abandoned Checkouts",
        description="1 to 100 ids; each gets its own result (NOT_FOUND for an unknown one).",
        tags=[TAG],
        parameters=[RETRY_AFTER],
        request=docs.BulkDeleteAbandonedCheckoutsRequestSerializer,
        responses=with_errors({200: docs.BulkDeleteAbandonedCheckoutsResponseSerializer}),
    )
    def post(self, request):
        ids = json_object(request.data).get("abandonedCheckoutIds")
        if not isinstance(ids, list) or not ids:
            raise WixValidationError(
                [violation("abandonedCheckoutIds", "Send 1 to 100 abandoned checkout ids.", RULE_MIN_SIZE)]
            )
        if len(ids) > BULK_LIMIT:
            raise WixValidationError(
                [violation("abandonedCheckoutIds", f"At most {BULK_LIMIT} ids.", RULE_MAX_SIZE, max=BULK_LIMIT)]
            )
        pks = [guid_argument(raw, f"abandonedCheckoutIds[{index}]") for index, raw in enumerate(ids)]
        results = []
        for index, pk in enumerate(pks):
            # One transaction per id (in the service): a missing id does not stop the rest.
            deleted = abandoned_checkout_delete(abandoned_checkout_id=pk, store=self.store)
            item = {"id": str(pk), "originalIndex": index, "success": deleted}
            if not deleted:
                item["error"] = {
                    "code": "NOT_FOUND",
                    "description": f"Abandoned checkout {pk} was not found.",
                    "data": {},
                }
            results.append({"itemMetadata": item})
        successes = sum(1 for result in results if result["itemMetadata"]["success"])
        return Response(
            {
                "results": results,
                "bulkActionMetadata": {
                    "totalSuccesses": successes,
                    "totalFailures": len(results) - successes,
                    "undetailedFailures": 0,
                },
            }
        )


class AnalyticsView(StoreAPIView):
    @extend_schema(
        operation_id="GetAbandonedCheckoutAnalytics",
        summary="Get Abandoned Checkout Analytics",
        description=(
            "Recovery figures for checkouts abandoned between startDate and endDate, inclusive, as days in "
            "the store's time zone. recoveryRate = recovered / (recoverable + recovered)."
        ),
        tags=[TAG],
        parameters=[RETRY_AFTER],
        request=AnalyticsRequestSerializer,
        responses=with_errors({200: AnalyticsResponseSerializer}),
    )
    def post(self, request):
        body = validated(AnalyticsRequestSerializer, request.data)
        return Response(abandoned_checkout_analytics(store=self.store, request=body))
