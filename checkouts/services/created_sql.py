"""The sweep's `created` events, built by PostgreSQL from the rows its statement has just inserted.

A sweep batch's abandoned checkouts are copied from their checkouts inside the database
(`sweep._abandoned_insert`); their `created` events carry each row rendered as Wix does
(`wix.abandoned_checkout_to_wix`). Building those 2 kB entities in Python, one dict and one
COPY line per row, was most of the sweep's Python time. Here the same statement that inserts
the rows renders them with `jsonb_build_object` and inserts the events: no row travels back.

The SQL is the Python renderer, rule for rule, for the rows it can match exactly:

- money formatted with the CLDR layout `wix._money_format` reads from Babel, passed per
  store language and currency, and rounded half to even as `Decimal.quantize` does;
- everything else (empty fields left out, the recovery link, Wix media ids of line-item
  images, at most the 20 newest activities, oldest first) copied from the renderer.

A row it cannot match exactly takes the Python renderer instead (`CreatedEvents.unbuilt`):
a negative amount or a locale whose pattern Babel alone formats, a converted subtotal that
must be computed at the total's rate (Decimal's 28 digits), line items that are not a list
of objects. tests/checkouts/test_sweep_events.py holds the two renderers to the same payloads.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.db import connection

from ..inserts import array_literal, uuid_array
from ..models import AbandonedCheckout, Store, WebhookEvent
from ..wix import _money_format, iso

# Python's isoformat(timespec="milliseconds") in UTC: PostgreSQL's MS truncates as it does.
_ISO = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
# `wix.WIX_MEDIA_ID`, anchored: `fullmatch`.
_MEDIA_ID = r"^[0-9A-Za-z]+_[0-9A-Za-z]+~mv2\.[0-9A-Za-z]+$"
_MEDIA_URL = r"^https://static\.wixstatic\.com/media/([^/?#]+)"
# Values that are falsy in Python once read from a JSON column (`value or []`).
_FALSY_JSON = "('null', '[]', '{}', '\"\"', '0', 'false')"


def _present(pairs: dict[str, str]) -> str:
    """`wix._set`: an object of the keys whose text is not empty. One small object stripped of its
    nulls, not a concatenation per key: each `||` rewrites the whole 2 kB entity."""
    built = ", ".join(f"'{key}', nullif({value}, '')" for key, value in pairs.items())
    return f"jsonb_strip_nulls(jsonb_build_object({built}))"


def _entity() -> str:
    buyer_info = _present(
        {
            "contactId": "ab.contact_id",
            "email": "ab.buyer_email",
            # visitorId / memberId / userId are a oneof in Wix: the most specific identity wins.
            "userId": "ab.user_id",
            "memberId": "CASE WHEN ab.user_id = '' THEN ab.member_id ELSE '' END",
            "visitorId": "CASE WHEN ab.user_id = '' AND ab.member_id = '' THEN ab.visitor_id ELSE '' END",
        }
    )
    # vatId may be an object holding nulls of its own: added apart from the stripped names.
    contact_details = f"""{_present({name: f"ab.{column}" for name, column in _CONTACT.items()})}
        || CASE WHEN ab.vat_id IS NULL OR ab.vat_id IN ('null', '""') THEN '{{}}'::jsonb
            ELSE jsonb_build_object('vatId', ab.vat_id) END"""
    optional = _present(
        {
            "checkoutId": "ab.checkout_external_id",
            "cartId": "ab.cart_id",
            "buyerLanguage": "ab.buyer_language",
            "conversionCurrency": "ab.conversion_currency",
            "checkoutRecoveredDate": f"coalesce({_ISO.format('ab.checkout_recovered_at')}, '')",
        }
    )
    # `wix.line_item_to_wix`: an image keeps its `id` only as a Wix media id (its own, or read
    # from a static.wixstatic.com URL). One path operation per item; none without images.
    line_items = f"""CASE WHEN NOT ab.line_items @? '$[*].image ? (@.type() == "object")' THEN ab.line_items
        ELSE coalesce((
            SELECT jsonb_agg(CASE WHEN jsonb_typeof(li.item -> 'image') <> 'object' THEN li.item
                WHEN media.id IS NULL THEN li.item #- '{{image,id}}'
                ELSE jsonb_set(li.item, '{{image,id}}', to_jsonb(media.id)) END ORDER BY li.position)
            FROM jsonb_array_elements(ab.line_items) WITH ORDINALITY AS li (item, position)
            CROSS JOIN LATERAL (SELECT CASE WHEN li.item -> 'image' ->> 'id' ~ '{_MEDIA_ID}' THEN li.item -> 'image' ->> 'id'
                WHEN substring(li.item -> 'image' ->> 'url' FROM '{_MEDIA_URL}') ~ '{_MEDIA_ID}'
                    THEN substring(li.item -> 'image' ->> 'url' FROM '{_MEDIA_URL}') END AS id) AS media
        ), '[]'::jsonb) END"""  # noqa: S608, E501  # nosec B608
    return f"""jsonb_build_object('id', ab.id, 'createdDate', {_ISO.format("ab.created_at")},
            'updatedDate', {_ISO.format("ab.updated_at")}, 'status', ab.status,
            'buyerInfo', {buyer_info}, 'contactDetails', {contact_details}, 'currency', ab.currency,
            'checkoutUrl', %(public_url)s::text || '/ecom/v1/abandoned-checkout/' || ab.id
                || '/redirect-to-checkout?metasiteId=' || ab.store_id,
            'totalPrice', {_price("total")}, 'subtotalPrice', {_price("subtotal")},
            'activities', coalesce(ab.activities, '[]'::jsonb), 'lineItems', {line_items},
            'appliedDiscounts', CASE WHEN ab.applied_discounts IN {_FALSY_JSON} THEN '[]'::jsonb
                ELSE ab.applied_discounts END)
        || {optional}"""


_CONTACT = {"firstName": "first_name", "lastName": "last_name", "phone": "phone", "company": "company"}


def _price(name: str) -> str:
    """`wix.multi_currency_price` of a total or subtotal; its formatted amounts come from `money`."""
    return f"""jsonb_build_object('amount', trim_scale(ab.{name})::text,
            'convertedAmount', trim_scale(coalesce(ab.{name}_converted, ab.{name}))::text,
            'formattedAmount', ab.{name}_text, 'formattedConvertedAmount', ab.{name}_converted_text)"""


def _converted_currency(name: str) -> str:
    # Nothing converted: the amount again, in the store's currency.
    return f"CASE WHEN ab.{name}_converted IS NULL THEN ab.currency ELSE coalesce(nullif(ab.conversion_currency, ''), ab.currency) END"  # noqa: E501


# `wix._apply`: rounded half to even to the currency's digits, the whole part grouped (the
# first group `primary_size` digits, the others `secondary_size`), the CLDR symbols around it.
_FORMATTED = r"""
    SELECT amounts.store_id || ':' || amounts.currency || ':' || trim_scale(amounts.amount) AS key,
        layout.prefix || CASE WHEN length(parts.whole) > layout.primary_size
            THEN regexp_replace(left(parts.whole, -layout.primary_size),
                    '(\d)(?=(\d{' || layout.secondary_size || '})+$)', '\1' || layout.group_replacement, 'g')
                || layout.group_symbol || right(parts.whole, layout.primary_size)
            ELSE parts.whole END
        || CASE WHEN parts.fraction <> '' THEN layout.decimal_symbol || parts.fraction ELSE '' END
        || layout.suffix AS text
    FROM amounts
    JOIN layouts AS layout ON layout.store_id = amounts.store_id AND layout.currency = amounts.currency
    CROSS JOIN LATERAL (SELECT amounts.amount * power(10::numeric, layout.digits) AS scaled) AS s
    CROSS JOIN LATERAL (
        SELECT round(CASE WHEN s.scaled - floor(s.scaled) > 0.5
                OR (s.scaled - floor(s.scaled) = 0.5 AND mod(floor(s.scaled), 2) = 1)
            THEN floor(s.scaled) + 1 ELSE floor(s.scaled) END / power(10::numeric, layout.digits), layout.digits
        )::text AS text) AS rounded
    CROSS JOIN LATERAL (
        SELECT split_part(rounded.text, '.', 1) AS whole, split_part(rounded.text, '.', 2) AS fraction) AS parts
    WHERE amounts.amount >= 0"""


def _layouts(abandoned: Sequence[AbandonedCheckout], stores: dict[Any, Store]) -> dict[str, list]:
    """The money layouts the batch needs, per store and currency, as arrays (none when Babel alone
    formats the pair: its rows take the Python renderer)."""
    currencies = {*map(attrgetter("currency"), abandoned), *map(attrgetter("conversion_currency"), abandoned)}
    if len(stores) * len(currencies) <= len(abandoned):
        # Every store with every currency of the batch (a layout no amount joins is not used),
        # without a tuple and two UUID hashes per row.
        pairs = {(store_id, currency) for store_id in stores for currency in currencies}
    else:
        pairs = {(ac.store_id, currency) for ac in abandoned for currency in (ac.currency, ac.conversion_currency)}
    return money_layouts(pairs, stores=stores)


def money_layouts(pairs: Iterable[tuple[Any, str]], *, stores: dict[Any, Store]) -> dict[str, list]:
    """The money layouts of these (store id, currency) pairs, as the arrays `created_events_ctes`
    takes (none for a pair only Babel formats, or without a currency)."""
    columns: dict[str, list] = {name: [] for name in _LAYOUT_COLUMNS}
    for store_id, currency in pairs:
        layout = _money_format(stores[store_id].language or "en", currency) if currency else None
        if layout is None:
            continue
        digits = -layout.quantum.as_tuple().exponent
        values = {
            "store_id": store_id,
            "currency": currency,
            "prefix": layout.prefix,
            "suffix": layout.suffix,
            # A pattern without grouping says 1000: PostgreSQL's regular expressions stop at 255.
            "primary_size": min(layout.primary, 255),
            "secondary_size": min(layout.secondary, 255),
            "decimal_symbol": layout.decimal,
            "group_symbol": layout.group,
            "group_replacement": layout.group.replace("\\", "\\\\").replace("&", "\\&"),
            "digits": digits,
        }
        for name, value in values.items():
            columns[name].append(value)
    return columns


_LAYOUT_COLUMNS = {
    "store_id": "uuid",
    "currency": "text",
    "prefix": "text",
    "suffix": "text",
    "primary_size": "int",
    "secondary_size": "int",
    "decimal_symbol": "text",
    "group_symbol": "text",
    "group_replacement": "text",
    "digits": "int",
}


def created_events_ctes(
    *, abandoned: Sequence[AbandonedCheckout], stores: dict[Any, Store], now: datetime
) -> tuple[list[str], dict[str, Any]]:
    """The CTEs that insert the `created` event of every row of the CTE `abandoned` (the rows
    just inserted, `RETURNING *`) that SQL renders exactly, as `created_events_record` would
    (`abandoned`: the same rows as instances, with their `latest_activities`).

    Returns the CTEs and their parameters; the CTE `events` has the columns `entity_id`,
    `event_id`, `store_id` and `sequence` of the events written.
    """
    # The activities, in the order the receivers returned them (as `latest_activities`, reversed).
    acts: dict[str, list] = {"ac_ids": [], "created": [], "types": []}
    for ac in abandoned:
        for activity in reversed(ac.latest_activities):
            acts["ac_ids"].append(ac.id)
            acts["created"].append(activity.created_at)
            acts["types"].append(activity.type)
    ctes, params = created_events_ctes_of(
        layouts=_layouts(abandoned, stores),
        activities=(
            "unnest(%(act_ac_ids)s::uuid[], %(act_created)s::timestamptz[], %(act_types)s::text[]) WITH ORDINALITY"
        ),
        now=now,
    )
    params.update(
        act_ac_ids=uuid_array(acts["ac_ids"]),
        act_created=array_literal(acts["created"]),
        act_types=array_literal(acts["types"]),
    )
    return ctes, params


def created_events_ctes_of(*, layouts: dict[str, list], activities: str, now: datetime) -> tuple[list[str], dict]:
    """`created_events_ctes`, from money layouts (`money_layouts`) and `activities`: an SQL row
    source of (abandoned checkout id, created at, type, position), logged in position order."""
    layout_arrays = ", ".join(f"%(layout_{name})s::{db_type}[]" for name, db_type in _LAYOUT_COLUMNS.items())
    params: dict[str, Any] = {f"layout_{name}": values for name, values in layouts.items()}
    params.update(
        public_url=settings.COMEBACK_PUBLIC_URL,
        event_time=iso(now),
        event_created_at=now,
        fqdn=WebhookEvent.ENTITY_FQDN,
        created=WebhookEvent.Type.CREATED,
    )
    quote = connection.ops.quote_name
    events_table = quote(WebhookEvent._meta.db_table)
    ctes = [
        f"layouts AS (SELECT * FROM unnest({layout_arrays}) AS layout ({', '.join(_LAYOUT_COLUMNS)}))",  # noqa: S608  # nosec B608
        f"""amounts AS (
            SELECT DISTINCT ab.store_id, money.currency, money.amount FROM abandoned AS ab
            CROSS JOIN LATERAL (VALUES (ab.currency, ab.total), (ab.currency, ab.subtotal),
                ({_converted_currency("total")}, coalesce(ab.total_converted, ab.total)),
                ({_converted_currency("subtotal")}, coalesce(ab.subtotal_converted, ab.subtotal))
            ) AS money (currency, amount))""",  # noqa: S608  # nosec B608
        # One object of every formatted amount, by store, currency and amount: each row looks its
        # four up by key, where joins would be planned as nested loops over the batch's amounts.
        f"money AS MATERIALIZED (SELECT jsonb_object_agg(key, text) AS formatted FROM ({_FORMATTED}) AS amounts)",  # noqa: S608  # nosec B608
        f"""acts AS MATERIALIZED (
            SELECT ac_id, jsonb_agg(jsonb_build_object('createdDate', {_ISO.format("created")}, 'type', type)
                ORDER BY position) AS list
            FROM (
                SELECT *, row_number() OVER (PARTITION BY ac_id ORDER BY position DESC) AS newest
                FROM {activities} AS act (ac_id, created, type, position)
            ) AS ranked
            WHERE newest <= 20
            GROUP BY ac_id)""",  # noqa: S608  # nosec B608
        f"""renderable AS (
            SELECT gen_random_uuid() AS event_id, ab.*, acts.list AS activities,
                money.formatted ->> {_money_key("ab.currency", "ab.total")} AS total_text,
                money.formatted ->> {_money_key(_converted_currency("total"), "coalesce(ab.total_converted, ab.total)")}
                    AS total_converted_text,
                money.formatted ->> {_money_key("ab.currency", "ab.subtotal")} AS subtotal_text,
                money.formatted ->> {_money_key(_converted_currency("subtotal"), "coalesce(ab.subtotal_converted, ab.subtotal)")}
                    AS subtotal_converted_text
            FROM abandoned AS ab
            CROSS JOIN money
            LEFT JOIN acts ON acts.ac_id = ab.id
            WHERE jsonb_typeof(ab.line_items) = 'array'
                AND NOT EXISTS (SELECT FROM jsonb_array_elements(ab.line_items) AS item WHERE jsonb_typeof(item) <> 'object')
                -- A converted subtotal computed at the rate of the total: Python Decimal arithmetic.
                AND NOT (ab.subtotal_converted IS NULL AND ab.total_converted IS NOT NULL AND ab.total <> 0
                    AND ab.conversion_currency NOT IN ('', ab.currency)))""",  # noqa: S608, E501  # nosec B608
        # A row without its four formatted amounts takes the Python renderer.
        """rendered AS (SELECT * FROM renderable WHERE total_text IS NOT NULL AND total_converted_text IS NOT NULL
            AND subtotal_text IS NOT NULL AND subtotal_converted_text IS NOT NULL)""",
        f"""events AS (
            INSERT INTO {events_table} (id, store_id, type, entity_id, sequence, created_at, payload)
            SELECT ab.event_id, ab.store_id, %(created)s::text, ab.id, ab.event_sequence, %(event_created_at)s::timestamptz,
                jsonb_build_object('id', ab.event_id, 'entityFqdn', %(fqdn)s::text, 'slug', %(created)s::text,
                    'entityId', ab.id, 'eventTime', %(event_time)s::text, 'triggeredByAnonymizeRequest', false,
                    'entityEventSequence', ab.event_sequence::text, 'createdEvent', jsonb_build_object('entity', {_entity()}))
            FROM rendered AS ab
            RETURNING entity_id, id AS event_id, store_id, sequence)""",  # noqa: S608, E501  # nosec B608
    ]
    return ctes, params


def _money_key(currency: str, amount: str) -> str:
    return f"(ab.store_id || ':' || {currency} || ':' || trim_scale({amount}))"
