"""Logs: one JSON object per line, request ids that round-trip, and no raw buyer email or phone."""

import io
import json
import logging
import re
import time
import uuid

import pytest

from config.logs import (
    REQUEST_ID_HEADER,
    JsonFormatter,
    RedactPIIFilter,
    RequestContextFilter,
    redact,
    request_id_var,
)


@pytest.fixture
def log_lines():
    """What the configured console handler writes, as JSON lines, for the duration of a test."""
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactPIIFilter) for f in h.filters))
    stream, formatter = io.StringIO(), handler.formatter
    previous = handler.setStream(stream)
    handler.setFormatter(JsonFormatter())
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    handler.setStream(previous)
    handler.setFormatter(formatter)


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("buyer Ada.Lovelace@Example.com left", "buyer A***@Example.com left"),
        ("GET /checkouts/?search=ada%40example.com", "GET /checkouts/?search=a***%40example.com"),
        ("phone +15551234567", "phone ***67"),
        ("phone +1 (555) 123-4567", "phone ***67"),
        ("phone +44 20 7946 0958", "phone ***58"),
        ("phone (555) 123-4567 or 555-123-4567", "phone ***67 or ***67"),
        ("phone 07700 900123", "phone ***23"),
        ("phone=5551234567", "phone=***67"),
    ],
)
def test_emails_and_phones_are_masked(raw, masked):
    assert redact(raw) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-28 12:26:01,123 at 2026-11-28T12:26:01.123+00:00",
        '"GET /checkouts/?page=2 HTTP/1.1" 200 12345',
        "checkout 123e4567-e89b-12d3-a456-426614174000 in store 5f0c7d1e-1111-2222-3333-444455556666",
        "10.0.3.7:5432 took 0.1234567s for 1000000 rows, total 1234567.89",
        "Task succeeded in 0.0123s: 2000",
    ],
)
def test_what_is_not_an_email_or_phone_is_left_alone(text):
    assert redact(text) == text


def test_a_log_record_with_an_email_and_a_phone_comes_out_redacted(log_lines):
    logger = logging.getLogger("checkouts.services")

    logger.warning("Could not reach %s at %s", "grace.hopper@navy.example", "+1 555 010 9988")
    logger.info("buyer %(email)s", {"email": "ada@example.com"})

    first, second = log_lines()
    assert first["message"] == "Could not reach g***@navy.example at ***88"
    assert second["message"] == "buyer a***@example.com"
    assert "grace.hopper" not in json.dumps([first, second])


def test_exception_messages_in_a_traceback_are_redacted(log_lines):
    logger = logging.getLogger("checkouts.services")
    try:
        raise ValueError("duplicate key (store_id, email_key)=(7, bob.smith@shop.example) phone +447700900123")
    except ValueError:
        logger.exception("Ingest failed for %s", "bob.smith@shop.example")

    (line,) = log_lines()
    assert line["message"] == "Ingest failed for b***@shop.example"
    assert "Traceback (most recent call last)" in line["exception"]
    assert "(7, b***@shop.example) phone ***23" in line["exception"]
    assert "bob.smith" not in json.dumps(line)
    assert "447700900123" not in json.dumps(line)


def test_a_json_line_has_time_level_logger_message_and_request_id(log_lines):
    logging.getLogger("comeback.test").error("something happened", extra={"store_id": 7})

    (line,) = log_lines()
    assert list(line)[:5] == ["time", "level", "logger", "message", "request_id"]
    assert line["level"] == "ERROR"
    assert line["logger"] == "comeback.test"
    assert line["time"].endswith("+00:00")
    assert line["request_id"] is None
    assert line["store_id"] == 7


def test_a_proxy_request_id_round_trips_and_marks_the_request_log_lines(client, log_lines):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="lb-7f3a9c1e")

    assert response.status_code == 404
    assert response[REQUEST_ID_HEADER] == "lb-7f3a9c1e"
    (line,) = [entry for entry in log_lines() if entry["logger"] == "django.request"]
    assert line["message"] == "Not Found: /no-such-page/"
    assert line["request_id"] == "lb-7f3a9c1e"


def test_a_request_without_an_id_gets_a_fresh_one(client):
    first = client.get("/no-such-page/")[REQUEST_ID_HEADER]
    second = client.get("/no-such-page/")[REQUEST_ID_HEADER]

    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.parametrize("sent", ["has spaces in it", "x" * 200, "evil\u2028line", ""])
def test_an_unusable_request_id_is_replaced(client, sent):
    returned = client.get("/no-such-page/", HTTP_X_REQUEST_ID=sent)[REQUEST_ID_HEADER]

    assert returned != sent
    assert len(returned) == 32


def test_request_context_filter_is_on_the_configured_handler():
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactPIIFilter) for f in h.filters))

    assert any(isinstance(f, RequestContextFilter) for f in handler.filters)


@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_by_a_request_logs_under_that_request_id():
    """A real publish through the broker and a real worker: the id travels in the message headers."""
    from celery.contrib.testing.worker import start_worker

    from checkouts.tasks import scheduler_heartbeat_task
    from config.celery_app import app

    # The worker reconfigures logging as it starts (from LOGGING): listen on the task logger itself.
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.addFilter(RequestContextFilter())
    capture.addFilter(RedactPIIFilter())
    capture.setFormatter(JsonFormatter())
    trace_logger = logging.getLogger("celery.app.trace")
    trace_logger.addHandler(capture)

    def finished() -> list[dict]:
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        return [line for line in lines if line.get("task_id") == result.id and "succeeded" in line["message"]]

    # A queue of its own: no other consumer (a `make run` worker) or leftover message interferes.
    queue = f"ops-test-{uuid.uuid4().hex}"
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=5, queues=[queue]):
            token = request_id_var.set("req-4c1d")
            try:
                result = scheduler_heartbeat_task.apply_async(queue=queue)
            finally:
                request_id_var.reset(token)
            deadline = time.monotonic() + 30
            while not finished() and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        app.conf.task_always_eager = True
        trace_logger.removeHandler(capture)

    assert len(finished()) == 1, stream.getvalue()
    (done,) = finished()
    assert done["request_id"] == "req-4c1d"
    assert done["task"] == "checkouts.tasks.scheduler_heartbeat_task"


def test_make_runs_worker_log_says_what_happened_not_every_tick():
    """The embedded default quiets Celery's received/succeeded pair per task; failures and the apps' own lines stay."""
    import importlib

    config = importlib.import_module("config.settings.local").LOGGING

    def level(name: str) -> int:
        # The effective level `name` gets from this dictConfig: its own, else its nearest configured parent's.
        while name:
            if "level" in config["loggers"].get(name, {}):
                return logging.getLevelName(config["loggers"][name]["level"])
            name = name.rpartition(".")[0]
        return logging.getLevelName(config["root"]["level"])

    for chatter in ("celery.app.trace", "celery.worker.strategy", "celery.beat"):
        assert level(chatter) == logging.WARNING  # a failed task is logged at ERROR: still shown
    for app in ("automations.dispatcher", "checkouts.services.lifecycle", "celery.apps.worker"):
        assert level(app) == logging.INFO
