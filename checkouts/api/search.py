"""Search's free text (`search.search`): words matched against email and first / last name.

Each word must prefix one of the searched fields, case-insensitively — the dashboard's
search box does the same, and a prefix on the email uses the store's email index.
`mode` OR matches rows with any word, AND rows with every word. `fuzzy` is accepted and
has no effect: matching is always by prefix.
"""

from typing import Any

from django.db.models import Q

from .errors import RULE_FORMAT, RULE_MAX_LENGTH, RULE_MAX_SIZE, RULE_NOT_ALLOWED, WixValidationError, violation

SEARCHABLE = {
    "buyerInfo.email": "email_key",
    "contactDetails.firstName": "first_name",
    "contactDetails.lastName": "last_name",
}
MAX_EXPRESSION = 100
MAX_FIELDS = 20
MAX_TERMS = 10


def parse_search_details(details: Any, path: str) -> dict | None:
    """Validated `{mode, expression, fields}` (None when there is nothing to search for)."""
    if details is None:
        return None
    if not isinstance(details, dict):
        raise WixValidationError([violation(path, "Expected an object.", RULE_FORMAT)])
    violations = []
    mode = details.get("mode")
    mode = "OR" if mode is None else mode
    if mode not in ("OR", "AND"):
        violations.append(violation(f"{path}.mode", "mode is OR or AND.", RULE_FORMAT))
    expression = details.get("expression")
    if expression is not None and not isinstance(expression, str):
        violations.append(violation(f"{path}.expression", "expression is a string.", RULE_FORMAT))
    elif expression and len(expression) > MAX_EXPRESSION:
        violations.append(violation(f"{path}.expression", f"At most {MAX_EXPRESSION} characters.", RULE_MAX_LENGTH))
    fields = details.get("fields")
    fields = [] if fields is None else fields
    if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
        violations.append(violation(f"{path}.fields", f"An array of at most {MAX_FIELDS} fields.", RULE_MAX_SIZE))
        fields = []
    for index, name in enumerate(fields):
        if not isinstance(name, str) or name not in SEARCHABLE:
            violations.append(
                violation(
                    f"{path}.fields[{index}]",
                    f"{name!r} is not searchable; searchable fields: {', '.join(SEARCHABLE)}.",
                    RULE_NOT_ALLOWED,
                    "UNSUPPORTED_FIELD",
                )
            )
    fuzzy = details.get("fuzzy")
    if fuzzy is not None and not isinstance(fuzzy, bool):
        violations.append(violation(f"{path}.fuzzy", "fuzzy is true or false.", RULE_FORMAT))
    if violations:
        raise WixValidationError(violations)
    if not (expression or "").split():
        return None
    return {"mode": mode, "expression": expression, "fields": list(dict.fromkeys(fields)) or list(SEARCHABLE)}


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
