"""Search's free text (`search.search`): words matched against email and first / last name.

Each word must prefix one of the searched fields, case-insensitively — the dashboard's
search box does the same, and a prefix on the email uses the store's email index.
`mode` OR matches rows with any word, AND rows with every word. `fuzzy` is accepted and
has no effect: matching is always by prefix.
"""

from django.db.models import Q
from rest_framework import serializers

from .legacy import StrictCharField
from .listing import ListBodySerializer

SEARCHABLE = {
    "buyerInfo.email": "email_key",
    "contactDetails.firstName": "first_name",
    "contactDetails.lastName": "last_name",
}
MAX_EXPRESSION = 100
MAX_FIELDS = 20
MAX_TERMS = 10


class StrictBooleanField(serializers.BooleanField):
    """true or false, never "true" or 1."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class SearchableField(serializers.ChoiceField):
    default_error_messages = {
        "not_allowed": f"{{input!r}} is not searchable; searchable fields: {', '.join(SEARCHABLE)}."
    }

    def __init__(self, **kwargs):
        super().__init__(choices=list(SEARCHABLE), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or data not in SEARCHABLE:
            self.fail("not_allowed", input=data)
        return data


class SearchDetailsSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=["OR", "AND"],
        required=False,
        allow_null=True,
        error_messages={"invalid_choice": "mode is OR or AND."},
        help_text="OR (default): any word; AND: every word.",
    )
    expression = StrictCharField(
        max_length=MAX_EXPRESSION,
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        error_messages={
            "invalid": "expression is a string.",
            "max_length": f"At most {MAX_EXPRESSION} characters.",
        },
    )
    fields = serializers.ListField(
        child=SearchableField(),
        max_length=MAX_FIELDS,
        required=False,
        allow_null=True,
        error_messages={"max_length": f"An array of at most {MAX_FIELDS} fields."},
    )
    fuzzy = StrictBooleanField(
        required=False,
        allow_null=True,
        error_messages={"invalid": "fuzzy is true or false."},
        help_text="Accepted; matching is by prefix.",
    )


class SearchSerializer(ListBodySerializer):
    search = SearchDetailsSerializer(required=False, allow_null=True)


class SearchRequestSerializer(serializers.Serializer):
    search = SearchSerializer(required=False, allow_null=True)


def search_details(details: dict | None) -> dict | None:
    """`{mode, expression, fields}` from validated details, or None when there is nothing to search for."""
    if not details or not (details.get("expression") or "").split():
        return None
    return {
        "mode": details.get("mode") or "OR",
        "expression": details["expression"],
        "fields": list(dict.fromkeys(details.get("fields") or [])) or list(SEARCHABLE),
    }


def search_condition(details: dict | None) -> Q:
    if not details:
        return Q()
    terms = details["expression"].split()[:MAX_TERMS]
    columns = [SEARCHABLE[name] for name in details["fields"]]
    matches = [_term(term, columns) for term in terms]
    condition = matches[0]
    for match in matches[1:]:
        condition = condition & match if details["mode"] == "AND" else condition | match
    return condition


def _term(term: str, columns: list[str]) -> Q:
    condition = Q(pk__in=[])
    for column in columns:
        if column == "email_key":
            condition |= Q(email_key__startswith=term.lower())
        else:
            condition |= Q(**{f"{column}__istartswith": term})
    return condition
