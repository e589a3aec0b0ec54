"""Thin tasks for the Wix pull: one per connection, and a beat tick that queues them."""

import logging

from celery import shared_task

from ...models import Connection
from .sync import PullFailed, wix_pull

logger = logging.getLogger(__name__)


@shared_task
def wix_pull_task(connection_id: str) -> int:
    connection = Connection.objects.active().filter(pk=connection_id, platform=Connection.Platform.WIX).first()
    if connection is None or not connection.secret or not connection.settings.get("site_id"):
        return 0  # paused, removed, or not set up for pulling: nothing to do
    try:
        return wix_pull(connection).rows
    except PullFailed:
        # Already on the connection's status for the merchant; the next tick tries again.
        logger.warning("Wix pull for connection %s failed", connection_id, exc_info=True)
        return 0


@shared_task
def wix_pulls_schedule_task() -> int:
    """Queue a pull for every active Wix connection set up for pulling."""
    ids = [
        str(pk)
        for pk, secret, settings in Connection.objects.active()
        .filter(platform=Connection.Platform.WIX, settings__has_key="site_id")
        .values_list("pk", "secret", "settings")
        if secret and settings.get("site_id")
    ]
    for connection_id in ids:
        wix_pull_task.delay(connection_id)
    return len(ids)
