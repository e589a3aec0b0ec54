"""The text-message backends: file (the embedded default), console, and an HTTP SMS gateway."""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from automations.notify import NotificationError, TextMessage, backend
from automations.notify.backends import console, filebased, http


def test_the_setting_picks_the_backend(settings, tmp_path):
    settings.COMEBACK_NOTIFICATIONS = {
        "BACKEND": "automations.notify.backends.filebased.Backend",
        "OPTIONS": {"file_path": str(tmp_path)},
    }
    assert isinstance(backend(), filebased.Backend)


def test_the_file_backend_writes_one_json_file_per_message(tmp_path):
    filebased.Backend(file_path=str(tmp_path / "sms")).send(TextMessage("+15555550100", "Come back", "step-7"))
    (written,) = (tmp_path / "sms").iterdir()
    assert written.name.endswith("-step-7.json")
    assert json.loads(written.read_text()) == {"to": "+15555550100", "body": "Come back", "idempotencyKey": "step-7"}


def test_the_console_backend_prints(capsys):
    stream = io.StringIO()
    console.Backend(stream=stream).send(TextMessage("+1555", "Hello", "k"))
    assert "To: +1555" in stream.getvalue() and "Hello" in stream.getvalue()


class Gateway(BaseHTTPRequestHandler):
    """A local SMS gateway that records what it receives and answers with `status`."""

    received: list = []
    status = 202
    delay = 0.0

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        type(self).received.append((dict(self.headers), json.loads(self.rfile.read(length))))
        if self.delay:
            threading.Event().wait(self.delay)
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    Gateway.received, Gateway.status, Gateway.delay = [], 202, 0.0
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/messages"
    server.shutdown()
    server.server_close()


def test_the_http_backend_posts_json_with_token_and_idempotency_key(gateway):
    http.Backend(url=gateway, token="s3cret", sender="Acme").send(TextMessage("+1555", "Come back", "step-9"))
    ((headers, body),) = Gateway.received
    assert body == {"to": "+1555", "body": "Come back", "from": "Acme"}
    assert headers["Authorization"] == "Bearer s3cret" and headers["Idempotency-Key"] == "step-9"


def test_the_http_backend_raises_on_an_error_answer(gateway):
    Gateway.status = 503
    with pytest.raises(NotificationError, match="503"):
        http.Backend(url=gateway).send(TextMessage("+1555", "x"))


def test_the_http_backend_gives_up_after_its_timeout(gateway):
    Gateway.delay = 2.0
    with pytest.raises(NotificationError, match="unreachable"):
        http.Backend(url=gateway, timeout=0.3).send(TextMessage("+1555", "x"))


def test_the_http_backend_refuses_to_start_without_a_url():
    with pytest.raises(NotificationError):
        http.Backend(url="")
