"""The test settings for the processes a fault test starts: mail goes to EMAIL_URL (the test's SMTP sink)."""

from config.settings.base import _mailer_from_url
from config.settings.test import *  # noqa: F403
from config.settings.test import env

if env("EMAIL_URL", default=""):
    MAILERS = {"default": _mailer_from_url(env("EMAIL_URL"))}
