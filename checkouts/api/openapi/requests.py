"""Request and response bodies of the Wix-compatible methods (reference §3), as OpenAPI components."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ...models import AbandonedCheckout, Activity
from .. import listing, search
from ..wql import (
    ACTIVITY_TYPES,
    ALIASES,
    COUPON_CODES,
    DATETIME,
    ENUM,
    ID,
    MAX_VALUES,
    QUERY_SPEC,
    SEARCH_SPEC,
    Field,
    Spec,
)
from .entities import AbandonedCheckoutSerializer, ApplicationErrorSerializer, PagingMetadataV2Serializer

_VALUES = {
    ID: {"type": "string", "format": "uuid"},
    DATETIME: {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]},
    ENUM: {"type": "string", "enum": list(AbandonedCheckout.Status.values)},
    ACTIVITY_TYPES: {"type": "string", "enum": list(Activity.Type.values)},
    COUPON_CODES: {"type": "string"},
}
_REVERSE_ALIASES = {target: alias for alias, target in ALIASES.items()}


def _value(field: Field, *, nullable: bool) -> dict:
    schema = dict(_VALUES.get(field.kind, {"type": "string"}))
    return {**schema, "nullable": True} if nullable else schema


def _operators(field: Field) -> dict:
    properties = {}
    for op in sorted(field.operators):
        if op in ("$eq", "$ne"):
            schema = _value(field, nullable=True)
        elif op in ("$in", "$nin", "$hasSome", "$hasAll"):
            item = _value(field, nullable=field.kind not in (ACTIVITY_TYPES, COUPON_CODES))
            schema = {"type": "array", "items": item, "maxItems": MAX_VALUES}
        elif op == "$exists":
            schema = {"type": "boolean"}
        elif op == "$startsWith":
            schema = {"type": "string", "description": "Case-insensitive prefix."}
        else:
            schema = _value(field, nullable=False)
        properties[op] = schema
        if op in _REVERSE_ALIASES:
            properties[_REVERSE_ALIASES[op]] = {**schema, "description": f"Legacy alias of {op}."}
    return {"type": "object", "properties": properties, "additionalProperties": False, "minProperties": 1}


def filter_schema(spec: Spec, description: str) -> dict:
    """The filter object for `spec`: each field takes a value (equality) or an operator object."""
    properties: dict = {}
    for name, field in spec.fields.items():
        operators = _operators(field)
        if field.kind in (ACTIVITY_TYPES, COUPON_CODES):
            properties[name] = operators
        else:
            properties[name] = {"oneOf": [_value(field, nullable=True), operators]}
    nested = {"type": "array", "minItems": 1, "items": {"type": "object", "description": "A filter object."}}
    properties["$and"] = {**nested, "description": "Every filter matches."}
    properties["$or"] = {**nested, "description": "At least one filter matches."}
    properties["$not"] = {"type": "object", "minProperties": 1, "description": "The filter does not match."}
    return {
        "type": "object",
        "nullable": True,
        "properties": properties,
        "additionalProperties": False,
        "description": description,
    }


@extend_schema_field(
    filter_schema(
        QUERY_SPEC,
        "Wix API Query Language over the nine queryable fields; keys at one level are ANDed. "
        "At most 8,000 characters as compact JSON.",
    ),
    component_name="QueryFilter",
)
class QueryFilterField(serializers.JSONField):
    pass


@extend_schema_field(
    filter_schema(
        SEARCH_SPEC, "Wix API Query Language over Search's filterable fields. At most 8,000 characters as compact JSON."
    ),
    component_name="SearchFilter",
)
class SearchFilterField(serializers.JSONField):
    pass


class SortingSerializer(serializers.Serializer):
    fieldName = serializers.ChoiceField(choices=QUERY_SPEC.sortable)
    order = serializers.ChoiceField(choices=["ASC", "DESC"], required=False, allow_null=True, help_text="Default ASC.")


class QueryV2Serializer(listing.QueryV2Serializer):
    """The validating serializer, with its query-language fields described for the schema."""

    filter = QueryFilterField(required=False, allow_null=True)
    sort = SortingSerializer(
        many=True, required=False, allow_null=True, help_text="Default: createdDate DESC; id breaks ties."
    )


class QueryAbandonedCheckoutsRequestSerializer(serializers.Serializer):
    query = QueryV2Serializer()


class QueryAbandonedCheckoutsResponseSerializer(serializers.Serializer):
    abandonedCheckouts = AbandonedCheckoutSerializer(many=True)
    results = AbandonedCheckoutSerializer(many=True, help_text="Deprecated duplicate of abandonedCheckouts.")
    metadata = PagingMetadataV2Serializer()


class CommonSortingSerializer(serializers.Serializer):
    fieldName = serializers.ChoiceField(choices=SEARCH_SPEC.sortable)
    order = serializers.ChoiceField(choices=["ASC", "DESC"], required=False, allow_null=True, help_text="Default ASC.")


class SearchSerializer(search.SearchSerializer):
    """The validating serializer, with its query-language fields described for the schema."""

    filter = SearchFilterField(required=False, allow_null=True)
    sort = CommonSortingSerializer(many=True, required=False, allow_null=True, max_length=SEARCH_SPEC.max_sort)


class SearchAbandonedCheckoutsRequestSerializer(serializers.Serializer):
    search = SearchSerializer(required=False, allow_null=True)


class SearchAbandonedCheckoutsResponseSerializer(serializers.Serializer):
    abandonedCheckouts = AbandonedCheckoutSerializer(many=True)
    pagingMetadata = PagingMetadataV2Serializer()


class ItemMetadataSerializer(serializers.Serializer):
    id = serializers.CharField(required=False)
    originalIndex = serializers.IntegerField()
    success = serializers.BooleanField()
    error = ApplicationErrorSerializer(required=False, help_text="Only when success is false.")


class BulkResultSerializer(serializers.Serializer):
    itemMetadata = ItemMetadataSerializer()


class BulkActionMetadataSerializer(serializers.Serializer):
    totalSuccesses = serializers.IntegerField()
    totalFailures = serializers.IntegerField()
    undetailedFailures = serializers.IntegerField()


class BulkDeleteAbandonedCheckoutsRequestSerializer(serializers.Serializer):
    abandonedCheckoutIds = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=100)


class BulkDeleteAbandonedCheckoutsResponseSerializer(serializers.Serializer):
    results = BulkResultSerializer(many=True)
    bulkActionMetadata = BulkActionMetadataSerializer()


class GetAbandonedCheckoutResponseSerializer(serializers.Serializer):
    abandonedCheckout = AbandonedCheckoutSerializer()


class EmptySerializer(serializers.Serializer):
    pass
