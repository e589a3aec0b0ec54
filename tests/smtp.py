"""A real SMTP server on loopback for the tests: it records each message when it accepts it."""

import socketserver
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes


@dataclass
class Accepted:
    key: str
    message_id: str
    at: float = field(default_factory=time.time)  # when the sender began the message (DATA)


class SmtpSink:
    """A minimal SMTP server on loopback that records each message when it accepts it (250 after DATA).

    What it records is what a real mail server would already have queued for delivery: a
    message recorded twice was sent twice.
    """

    def __init__(self, *, delay: float = 0.0):
        self.accepted: list[Accepted] = []
        self.messages: list[bytes] = []  # each accepted message as received
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 sink ESMTP")
                while line := self.rfile.readline():
                    verb = line.decode(errors="replace").strip().split(" ")[0].upper()
                    if verb == "EHLO":
                        self.reply("250-sink")
                        self.reply("250 8BITMIME")
                    elif verb == "DATA":
                        # Stamped before the 354: the sender cannot have sent the message (nor
                        # died after sending it) earlier. This thread may read a body already in
                        # the socket well after its sender was killed; the stamp does not move.
                        started = time.time()
                        self.reply("354 end with .")
                        lines = []
                        while (chunk := self.rfile.readline()) != b".\r\n":
                            if not chunk:
                                return  # the sender died mid-message: a real server drops it too
                            lines.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                        data = b"".join(lines)
                        time.sleep(delay)  # a real server's time to queue the message
                        message = message_from_bytes(data)
                        accepted = Accepted(
                            message.get("X-Comeback-Idempotency-Key", ""), message.get("Message-ID", ""), at=started
                        )
                        with sink.lock:
                            sink.messages.append(data)
                            sink.accepted.append(accepted)
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # HELO, MAIL, RCPT, RSET, NOOP
                        self.reply("250 ok")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                pass  # a sender killed mid-conversation is the point of the test

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def keys(self) -> list[str]:
        with self.lock:
            return [message.key for message in self.accepted]

    def __enter__(self) -> "SmtpSink":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
