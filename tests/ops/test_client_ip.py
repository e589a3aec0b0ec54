"""The client's address behind the reverse proxy (config/client_ip.py), as the sign-in limits see it."""

import pytest
from django.test import RequestFactory

from config.client_ip import client_ip


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (["127.0.0.1", "::1"], "203.0.113.5", None, "203.0.113.5"),
        (["127.0.0.1", "::1"], "203.0.113.5", "198.51.100.1", "203.0.113.5"),  # not a proxy: its header is ignored
        (["127.0.0.1", "::1"], "127.0.0.1", "198.51.100.1", "198.51.100.1"),
        (["127.0.0.1", "::1"], "127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # the client wrote 6.6.6.6
        (["127.0.0.1", "10.0.0.0/8"], "127.0.0.1", "198.51.100.1, 10.1.2.3", "198.51.100.1"),  # two proxies deep
        (["127.0.0.1", "::1"], "::1", "2001:db8::7", "2001:db8::7"),
        (["127.0.0.1", "::1"], "127.0.0.1", "bogus, 127.0.0.1", "127.0.0.1"),  # nothing believable: the peer
        (["127.0.0.1", "::1"], "127.0.0.1", None, "127.0.0.1"),
        (["*"], "172.18.0.4", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # any peer, only the hop it appended
        (["*"], "172.18.0.4", None, "172.18.0.4"),
    ],
)
def test_client_ip(settings, proxies, remote, forwarded, expected):
    settings.COMEBACK_TRUSTED_PROXIES = proxies
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **headers)
    assert client_ip(request) == expected
