"""Settings for the test suite: the same database and broker switches, fast hashing, mail in memory."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "test-only-not-secret"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
COMEBACK_NOTIFICATIONS = {"BACKEND": "automations.notify.backends.locmem.Backend"}
# No scheduler runs under the suite: the stall banner would be on every page (and its cached
# read would make query counts depend on the cache). tests/ops/test_stall_banner.py turns it on.
COMEBACK_STALL_BANNER = False
# Tasks run in-process unless a test asks for a real broker round-trip.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
# Test receivers speak plain http; loopback stays refused unless a test (or env) allows it.
COMEBACK_WEBHOOK_ALLOW_HTTP = True
COMEBACK_INBOX_WAKE_SECONDS = 0
