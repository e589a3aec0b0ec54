from psycopg import _queries

import config.postgresql.base  # noqa: F401 - sets the limit


def test_a_query_with_many_parameters_is_split_once_and_the_same():
    """config.postgresql lets psycopg keep the split of a query with up to 1,000 parameters
    (a batch's `IN` of 100 ids): the split it keeps is the one it would make each time."""
    assert _queries.MAX_CACHED_STATEMENT_PARAMS >= 1000
    for count in (1, 51, 100, 999):
        placeholders = b", ".join([b"%s"] * count)
        query = b"SELECT * FROM t WHERE a = %s AND id IN (" + placeholders + b") AND b LIKE 'x%%'"
        assert _queries._query2pg_client(query, "utf-8") == _queries._query2pg_client_nocache(query, "utf-8")
        assert _queries._query2pg(query, "utf-8") == _queries._query2pg_nocache(query, "utf-8")
