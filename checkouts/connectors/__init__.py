"""Connectors: what each storefront platform sends, turned into ordinary checkout events.

Each platform's module (`wix`, `shopify`, `saleor`, `script`) defines a `Connector` and registers it
with `register()` when imported; `checkouts.apps` imports them all at start-up. A connector never
writes a checkout itself: it maps what its platform sent to the ingest service's events
(`checkout.updated`, `checkout.completed`) and hands them to `services.connections.connection_events_ingest`,
so idempotency, ordering and recovery are the ingest service's, the same for every source.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..models import Connection


@dataclass(frozen=True)
class SetupStep:
    """One numbered step of a connection's setup page: what to do, and what to copy where."""

    text: str
    copy: dict[str, str] = field(default_factory=dict)  # label -> value to copy (a URL, a key)
    secret: bool = False  # the values are secrets: shown once, masked afterwards


@dataclass(frozen=True)
class Connector:
    platform: str  # a Connection.Platform value
    # The numbered steps for this connection, with its URLs (absolute, built on COMEBACK_PUBLIC_URL).
    setup_steps: Callable[["Connection"], list[SetupStep]]
    # The checkout events "Send a test event" ingests: what this platform would send, for a test checkout.
    test_events: Callable[["Connection"], list[dict[str, Any]]]
    # Settings keys this platform keeps in Connection.settings, with their labels (for the form).
    settings_fields: dict[str, str] = field(default_factory=dict)
    # On/off settings kept in Connection.settings as booleans, with their labels (checkboxes).
    flag_fields: dict[str, str] = field(default_factory=dict)
    # What the form asks for among Connection.secret, secondary_secret and public_key: {field: label}.
    # The first secret is required; the others are optional.
    credentials: dict[str, str] = field(default_factory=dict)
    # Settings the form requires, and a check of the whole settings dict: {field: error} (empty if fine).
    required_fields: tuple[str, ...] = ()
    validate_settings: Callable[[dict[str, Any]], dict[str, str]] = lambda settings: {}
    # Pull the platform's past checkouts into ingest (run by the `connection_backfill` task); None if it cannot.
    backfill: Callable[["Connection"], int] | None = None
    # One line for the "add a connection" list.
    summary: str = ""


_registry: dict[str, Connector] = {}


def register(connector: Connector) -> Connector:
    _registry[connector.platform] = connector
    return connector


def connector_for(platform: str) -> Connector:
    return _registry[platform]


def connectors() -> dict[str, Connector]:
    return dict(_registry)
