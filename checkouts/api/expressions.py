"""SQL the ORM has no portable lookup for."""

import json

from django.db.models import BooleanField, Expression, F


class CouponCodeIn(Expression):
    """True when the JSON list of applied discounts holds a coupon whose code is one of `codes`.

    PostgreSQL answers with jsonb containment (`@>`); SQLite walks the list with json_each.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, codes: list[str]):
        super().__init__()
        self.column = F(column)
        self.codes = list(codes)

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, exprs):
        (self.column,) = exprs

    def as_sql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        placeholders = ", ".join(["%s"] * len(self.codes))
        # Only the compiled column and placeholders are interpolated; the codes are parameters.
        sql = (
            f"EXISTS (SELECT 1 FROM json_each({column}) AS discount "  # noqa: S608  # nosec B608
            f"WHERE json_extract(discount.value, '$.coupon.code') IN ({placeholders}))"
        )
        return sql, (*params, *self.codes)

    def as_postgresql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        clauses = " OR ".join([f"{column} @> %s::jsonb"] * len(self.codes))
        containers = [json.dumps([{"coupon": {"code": code}}]) for code in self.codes]
        return f"({clauses})", (*params, *containers)
