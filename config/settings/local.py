"""The embedded default for `make run`: SQLite, a broker on the local disk, mail in files."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-secret")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
# Webhooks may go to http:// and loopback receivers, so the demo works on one machine.
COMEBACK_WEBHOOK_ALLOW_HTTP = env.bool("COMEBACK_WEBHOOK_ALLOW_HTTP", default=True)
COMEBACK_WEBHOOK_ALLOW_LOOPBACK = env.bool("COMEBACK_WEBHOOK_ALLOW_LOOPBACK", default=True)

# The worker's terminal in `make run` shows what happened (checkouts abandoned, steps run),
# not Celery's received/succeeded pair for every tick, most of which found nothing to do.
# A failed task still logs at ERROR.
LOGGING = {  # a copy: base.py's dict stays as it is
    **LOGGING,  # noqa: F405
    "loggers": {
        **LOGGING["loggers"],  # noqa: F405
        **{name: {"level": "WARNING"} for name in ("celery.beat", "celery.app.trace", "celery.worker.strategy")},
    },
}
