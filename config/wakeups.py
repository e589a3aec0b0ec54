"""Wake-up messages: publish once, fail fast, never raise into the caller.

Every piece of pending work is a database row, and a beat sweeper picks up any row whose
wake-up was lost. So a publish that fails (the broker is down or hung) is logged and
dropped: no retry loop holds a web request or a commit hook hostage, and nothing is lost.
"""

import logging

from celery import Task
from kombu.exceptions import OperationalError

from .celery_app import app

logger = logging.getLogger(__name__)


def wake_up_publish(task: Task | str, *args, **kwargs) -> bool:
    """Queue `task(*args, **kwargs)` once. False (and a warning) when the broker refused it.

    `task` may be the task's name, found in the app's registry: a service wakes its task up
    without importing the tasks module, which imports the services (the dependency points one
    way). The apps import their tasks modules when they are ready, so every name resolves.
    """
    if isinstance(task, str):
        task = app.tasks[task]
    # Broker errors only (kombu wraps the transport's; a socket timeout is an OSError): an
    # eager task's own exception, in tests, still propagates.
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=False)
    except (OperationalError, OSError):
        logger.warning("Could not publish %s; the next sweep will pick its work up", task.name, exc_info=True)
        return False
    return True
