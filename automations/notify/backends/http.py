import json

import urllib3

from ..base import BaseBackend, NotificationError, TextMessage


class Backend(BaseBackend):
    """POSTs `{"to", "body"}` as JSON to an SMS gateway with a bearer token and an Idempotency-Key.

    Any 2xx is success; anything else, a timeout or a connection error raises NotificationError,
    and the dispatcher retries the step later with the same key.
    """

    def __init__(self, url: str, token: str = "", timeout: float = 10.0, sender: str = ""):
        if not url:
            raise NotificationError("The HTTP notification backend needs COMEBACK_SMS_GATEWAY_URL.")
        self.url = url
        self.token = token
        self.sender = sender
        # Connecting should be quick; the gateway gets the rest of the budget to answer.
        self.timeout = urllib3.Timeout(connect=min(5.0, timeout), read=timeout)
        self.pool = urllib3.PoolManager(retries=False, timeout=self.timeout)

    def send(self, message: TextMessage) -> None:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if message.idempotency_key:
            headers["Idempotency-Key"] = message.idempotency_key
        body = {"to": message.to, "body": message.body}
        if self.sender:
            body["from"] = self.sender
        try:
            response = self.pool.request(
                "POST", self.url, body=json.dumps(body).encode(), headers=headers, redirect=False
            )
        except urllib3.exceptions.HTTPError as exc:
            raise NotificationError(f"SMS gateway unreachable: {exc}") from exc
        if not 200 <= response.status < 300:
            raise NotificationError(f"SMS gateway answered {response.status}: {response.data[:200]!r}")
