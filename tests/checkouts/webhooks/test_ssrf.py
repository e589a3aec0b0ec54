"""The SSRF guard: a fixed corpus refused 100 %, when saved and when connecting; DNS rebinding; Host pinning."""

import pytest

from checkouts.models import WebhookDelivery
from checkouts.webhooks import http, ssrf
from checkouts.webhooks.forms import EndpointForm
from checkouts.webhooks.signing import SignedRequest

from .helpers import abandoned, delivery_for, record

PUBLIC = "93.184.216.34"

# Names a hostile DNS server would answer with internal addresses.
DNS = {
    "internal.example": ["10.0.0.5"],
    "metadata.example": ["169.254.169.254"],
    "mixed.example": [PUBLIC, "10.0.0.1"],
    "mixed6.example": [PUBLIC, "fd00::1"],
    "loop.example": ["127.0.0.1"],
    "loop6.example": ["::1"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "zero.example": ["0.0.0.0"],  # noqa: S104 (an answer to refuse, nothing binds to it)
    "cgnat.example": ["100.64.1.1"],
    "linklocal6.example": ["fe80::1"],
}

CORPUS = [
    # loopback
    "http://127.0.0.1/",
    "http://127.0.0.2:8080/hook",
    "http://127.255.255.254/",
    "http://[::1]/",
    "http://localhost/",
    "http://LOCALHOST:8000/",
    "http://api.localhost/",
    "http://localhost./",
    # RFC 1918 and CGNAT
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.0.1/",
    "http://192.168.1.254:8443/",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    # link-local and cloud metadata
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.0.1/",
    "http://169.254.170.2/v2/credentials",
    "http://100.100.100.200/latest/meta-data/",
    "http://192.0.0.192/",
    "http://[fd00:ec2::254]/",
    "http://[fe80::1]/",
    "http://[febf::1]/",
    "http://[fe80::1%25eth0]/",
    # unspecified, multicast, reserved, documentation, benchmarking
    "http://0.0.0.0/",
    "http://0.1.2.3/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "http://198.51.100.7/",
    "http://203.0.113.9/",
    # IPv6 private and IPv4-mapped / compatible / translated / embedded forms
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:0:a9fe:a9fe]/",
    "http://[::127.0.0.1]/",
    "http://[::10.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:7f00:1::1]/",
    "http://[2002:a9fe:a9fe::1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    # decimal, octal and hex spellings
    "http://2130706433/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://0177.0.0.1/",
    "http://0x7f.0x0.0x0.0x1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://0/",
    "http://3232235521/",
    "http://2852039166/",
    "http://0xA9FEA9FE/",
    "http://0251.0376.0251.0376/",
    # schemes and credentials
    "ftp://example.com/",
    "file:///etc/passwd",
    "gopher://example.com/",
    "javascript:alert(1)",
    "https://user:secret@example.com/",
    "https://@169.254.169.254/",
    "http://example.com@127.0.0.1/",
    "http://127.0.0.1\t.example.com/",
    # names that resolve inside
    *(f"https://{name}/hooks" for name in DNS),
]


def hostile_resolver(host: str, port: int) -> list[str]:
    if host in DNS:
        return DNS[host]
    raise OSError(f"no such host {host}")


@pytest.fixture
def hostile_dns(monkeypatch):
    monkeypatch.setattr(ssrf, "resolve", hostile_resolver)


def test_the_corpus_is_big_enough():
    assert len(CORPUS) >= 60 and len(set(CORPUS)) == len(CORPUS)


@pytest.mark.parametrize("url", CORPUS)
def test_refused_when_saved_with_a_reason(url, hostile_dns):
    form = EndpointForm({"url": url, "event_types": ["created"], "format": "standard", "active": "on"})
    assert not form.is_valid()
    (error,) = form.errors["url"]
    assert len(error) > 20  # a sentence naming the reason, not a bare "invalid"


@pytest.mark.parametrize("url", CORPUS)
def test_refused_again_when_connecting(url, hostile_dns):
    outcome = http.post(url, SignedRequest(b"{}", {}))
    assert outcome.refused and outcome.status is None and outcome.error.startswith("Refused")


def test_http_is_refused_when_only_https_is_allowed(settings):
    settings.COMEBACK_WEBHOOK_ALLOW_HTTP = False
    form = EndpointForm({"url": f"http://{PUBLIC}/hooks", "event_types": ["created"], "format": "standard"})
    assert form.errors["url"] == ["The URL must start with https://."]
    assert ssrf.check_url(f"https://{PUBLIC}/hooks").address == PUBLIC


def test_the_reason_is_named(hostile_dns):
    form = EndpointForm({"url": "https://metadata.example/x", "event_types": ["created"], "format": "standard"})
    assert form.errors["url"] == [
        "The URL points at a cloud metadata service: metadata.example (169.254.169.254). "
        "Webhooks may only go to public addresses."
    ]


def test_a_public_answer_at_save_and_loopback_at_connect_is_refused(db, store, monkeypatch):
    """DNS rebinding: the name is public when saved, 127.0.0.1 when the worker connects."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    monkeypatch.setattr(ssrf, "resolve", lambda host, port: next(answers))
    form = EndpointForm(
        {"url": "https://rebind.example/hooks", "event_types": ["created"], "format": "standard", "active": "on"}
    )
    assert form.is_valid(), form.errors

    from checkouts.webhooks.attempts import webhook_delivery_attempt
    from checkouts.webhooks.services import webhook_endpoint_create

    webhook_endpoint_create(store=store, **form.cleaned_data)
    event = record(abandoned(store))
    assert webhook_delivery_attempt(delivery_id=delivery_for(event).pk) == WebhookDelivery.State.PENDING
    delivery = delivery_for(event)
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("Refused: The URL points at a loopback address: rebind.example (127.0.0.1)")


def test_the_connection_goes_to_the_checked_address_with_the_urls_host(receiver, monkeypatch):
    """One lookup per attempt; the socket goes to its answer, the name only travels in Host (and SNI)."""
    lookups = []

    def resolver(host, port):
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["10.0.0.1"]

    port = receiver.server.server_address[1]
    outcome = http.post(f"http://hooks.example.test:{port}/in", SignedRequest(b"{}", {}), resolver=resolver)
    assert outcome.status == 200 and lookups == ["hooks.example.test"]
    (request,) = receiver.received
    assert request.headers["host"] == f"hooks.example.test:{port}" and request.path == "/in"


def test_a_public_address_passes(hostile_dns):
    target = ssrf.check_url("https://example.com:8443/hooks?x=1", resolver=lambda host, port: [PUBLIC, "2606:2800::1"])
    assert (target.address, target.port, target.path, target.host_header) == (
        PUBLIC,
        8443,
        "/hooks?x=1",
        "example.com:8443",
    )
