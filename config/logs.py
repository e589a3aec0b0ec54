"""Logs: one JSON object per line in production, a request id on every record, no raw buyer email or phone.

`logging_config()` builds the LOGGING setting. Every handler runs two filters: one puts the
request id (and the Celery task, in a worker) on the record, the other rewrites the message,
its arguments and any traceback so that emails read `a***@example.com` and phone numbers
keep only their last two digits.
"""

import json
import logging
import re
import traceback
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import request_finished

REQUEST_ID_HEADER = "X-Request-ID"
# The header a Celery message carries the id of the request that enqueued it in.
TASK_REQUEST_ID_HEADER = "comeback_request_id"

request_id_var: ContextVar[str | None] = ContextVar("comeback_request_id", default=None)
# (task id, task name) while a worker runs a task.
task_var: ContextVar[tuple[str, str] | None] = ContextVar("comeback_task", default=None)

# What a proxy or a client may send as a request id (uuids, hex, nginx's $request_id, ...).
# Anything else is replaced, so a header can neither forge log structure nor grow a line.
_INCOMING_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# An address, also when URL-encoded in a logged query string (%40 for @).
_EMAIL = re.compile(r"(?P<local>[A-Za-z0-9._%+-]+)(?P<at>@|%40)(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# Phone numbers as buyers type them, tuned not to eat what logs are full of: dates, times,
# durations, sizes, ids and "GET / 200 5123" access lines. Each branch needs a shape only
# phones have: a leading +, the 3-3-4 North American layout, a leading 0 trunk prefix with
# 9 to 11 digits, or a bare run of 10 to 15 digits (a few timestamps in seconds get masked
# too; that errs on the safe side).
_PHONE = re.compile(
    r"(?<![\w+.-])(?:"
    r"\+\d(?:[ ().-]{0,2}\d){6,14}"
    r"|\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}"
    r"|0\d(?:[ -]?\d){7,9}"
    r"|\d{10,15}"
    r")(?![\w-]|\.\d)"
)


def _mask_email(match: re.Match) -> str:
    return f"{match['local'][0]}***{match['at']}{match['domain']}"


def _mask_phone(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return f"***{digits[-2:]}"


def redact(text: str) -> str:
    """The text with every email address and phone number masked."""
    return _PHONE.sub(_mask_phone, _EMAIL.sub(_mask_email, text))


class RedactPIIFilter(logging.Filter):
    """Masks buyer emails and phones in the message, its arguments and the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call still gets logged, without its arguments
            message = f"{record.msg} (arguments dropped: they did not match the format)"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RequestContextFilter(logging.Filter):
    """Puts the current request id, and in a worker the running task, on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.task_id, record.task_name = task_var.get() or (None, None)
        return True


# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "task_id",
    "task_name",
    "request",  # Django's request object on django.request records: not serialisable, not needed
    "server_time",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, then the rest."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if getattr(record, "task_id", None):
            entry["task_id"] = record.task_id
            entry["task"] = record.task_name
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and isinstance(value, str | int | float | bool | None):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def logging_config(log_format: str, level: str) -> dict:
    """The LOGGING setting: everything, Django's and Celery's loggers included, through one handler."""
    if log_format not in ("json", "plain"):
        raise ImproperlyConfigured(f"COMEBACK_LOG_FORMAT must be 'json' or 'plain', not {log_format!r}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "config.logs.RequestContextFilter"},
            "redact": {"()": "config.logs.RedactPIIFilter"},
        },
        "formatters": {
            "plain": {"format": PLAIN_FORMAT},
            "json": {"()": "config.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["context", "redact"]},
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's defaults give these their own handlers, which would bypass redaction
            # (and print development-server lines twice): send them through ours.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.server": {"handlers": [], "level": level, "propagate": True},
            "django.db.backends": {"level": "WARNING"},
            # django-axes: failed sign-ins and lockouts are warnings; its INFO lines are chatter.
            "axes": {"level": "WARNING"},
        },
    }


def _request_id_clear(**kwargs) -> None:
    request_id_var.set(None)


class RequestIdMiddleware:
    """Takes the proxy's X-Request-ID (or makes one), logs under it and returns it on the response.

    The id stays set until the response is closed (request_finished), not just until this
    middleware returns: Django logs 4xx and 5xx responses after the middleware chain.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        request_finished.connect(_request_id_clear, dispatch_uid="comeback-request-id-clear")

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _INCOMING_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


# --- Celery: the request id travels in a message header to the task that it enqueued ------------


def task_publish_add_request_id(headers: dict | None = None, **kwargs) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id:
        headers[TASK_REQUEST_ID_HEADER] = request_id


def task_start_set_context(task_id=None, task=None, **kwargs) -> None:
    # An eager task (tests, or a call without a broker) runs inside the caller's context and
    # keeps its request id; a worker's task takes the id of the request that enqueued it, or
    # its own id when a schedule did.
    if task is None or task.request.is_eager:
        return
    request_id_var.set(getattr(task.request, TASK_REQUEST_ID_HEADER, None) or task_id)
    task_var.set((task_id, task.name))


def task_end_clear_context(task=None, **kwargs) -> None:
    if task is None or task.request.is_eager:
        return
    request_id_var.set(None)
    task_var.set(None)
