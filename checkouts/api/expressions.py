"""SQL the ORM has no portable lookup for.

Both take a whole list of values as ONE SQL parameter (a PostgreSQL array or jsonb, a JSON
array that SQLite's json_each walks), so a filter with the documented maximum of 1,000
values is one short statement: an OR of 1,000 comparisons would pass SQLite's expression
depth limit (1,000) and make PostgreSQL plan a thousand-branch condition.
"""

import json

from django.db.models import BooleanField, Expression, F


class _ColumnCondition(Expression):
    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str):
        super().__init__()
        self.column = F(column)

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs


class ValueIn(_ColumnCondition):
    """`column IN (values)`: `= ANY(array)` on PostgreSQL, `IN (SELECT value FROM json_each(...))` on SQLite."""

    def __init__(self, column: str, values: list):
        super().__init__(column)
        self.values = list(dict.fromkeys(values))

    def _db_values(self, connection) -> list:
        field = self.column.output_field
        return [field.get_db_prep_value(value, connection) for value in self.values]

    def as_sql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        values = json.dumps([str(value) for value in self._db_values(connection)])
        # Only the compiled column is interpolated; the values are one JSON parameter.
        return f"{column} IN (SELECT value FROM json_each(%s))", (*params, values)  # noqa: S608  # nosec B608

    def as_postgresql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        array_type = "uuid[]" if self.column.output_field.get_internal_type() == "UUIDField" else "text[]"
        return f"{column} = ANY(%s::{array_type})", (*params, self._db_values(connection))


class CouponCodeIn(_ColumnCondition):
    """True when the JSON list of applied discounts holds a coupon whose code is one of `codes`
    (`match_all`: every one of them).

    PostgreSQL answers with jsonb containment (`@>`); SQLite walks the list with json_each.
    """

    def __init__(self, column: str, codes: list[str], *, match_all: bool = False):
        super().__init__(column)
        self.codes = list(dict.fromkeys(codes))
        self.match_all = match_all

    def as_sql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        code = "json_extract(discount.value, '$.coupon.code')"
        # Only the compiled column is interpolated; the codes are one JSON parameter.
        matching = (
            f"FROM json_each({column}) AS discount "  # noqa: S608  # nosec B608
            f"WHERE {code} IN (SELECT value FROM json_each(%s))"
        )
        codes = json.dumps(self.codes)
        if self.match_all:
            return f"(SELECT COUNT(DISTINCT {code}) {matching}) = %s", (*params, codes, len(self.codes))
        return f"EXISTS (SELECT 1 {matching})", (*params, codes)

    def as_postgresql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        containers = [{"coupon": {"code": code}} for code in self.codes]
        if self.match_all:
            # Array containment: every element on the right is contained in some element on the left.
            return f"{column} @> %s::jsonb", (*params, json.dumps(containers))
        return f"{column} @> ANY(%s::jsonb[])", (*params, [json.dumps([container]) for container in containers])
