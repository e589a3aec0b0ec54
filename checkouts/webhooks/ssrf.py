"""The SSRF guard: merchant-supplied URLs may only reach public addresses.

A URL is checked when the endpoint is saved (a form error naming the reason) and again on
every connect, because DNS can change between the two. The connect goes to the very
address that was checked (see `delivery.http`), so a rebinding answer cannot swap it.
"""

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    """The URL may not be used for a webhook; the message says why, in words a merchant can act on."""


@dataclass(frozen=True)
class Target:
    """Where to connect: the scheme, the host name (for TLS and the Host header), the port and the checked address."""

    scheme: str
    host: str
    port: int
    address: str
    path: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


# Named ranges first, so the refusal says what the address is. Anything else that is not
# globally routable is caught by the final `is_global` check.
_METADATA = {
    ipaddress.ip_address("169.254.169.254"): "a cloud metadata service",
    ipaddress.ip_address("169.254.170.2"): "a cloud metadata service",
    ipaddress.ip_address("100.100.100.200"): "a cloud metadata service",
    ipaddress.ip_address("192.0.0.192"): "a cloud metadata service",
    ipaddress.ip_address("fd00:ec2::254"): "a cloud metadata service",
}
_RANGES: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = [
    (ipaddress.ip_network(net), reason)
    for net, reason in [
        ("0.0.0.0/8", "an unspecified or 'this network' address"),
        ("10.0.0.0/8", "a private network address (RFC 1918)"),
        ("172.16.0.0/12", "a private network address (RFC 1918)"),
        ("192.168.0.0/16", "a private network address (RFC 1918)"),
        ("100.64.0.0/10", "a carrier-grade NAT address (RFC 6598)"),
        ("169.254.0.0/16", "a link-local address (where cloud metadata services live)"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", "an unspecified address"),
        ("::ffff:0:0/96", "an IPv4-mapped IPv6 address"),
        ("::ffff:0:0:0/96", "an IPv4-translated IPv6 address"),
        ("::/96", "an IPv4-compatible IPv6 address"),
        ("64:ff9b::/96", "a NAT64 address embedding an IPv4 address"),
        ("64:ff9b:1::/48", "a NAT64 address embedding an IPv4 address"),
        ("2002::/16", "a 6to4 address embedding an IPv4 address"),
        ("2001::/32", "a Teredo address embedding an IPv4 address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("fc00::/7", "a unique local (private) IPv6 address"),
        ("ff00::/8", "a multicast address"),
    ]
]
_LOOPBACK = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]

# A host made only of numbers, dots and hex prefixes is an IP address in some spelling that
# resolvers accept (2130706433, 0177.0.0.1, 0x7f.1, 127.1); only the canonical forms pass.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*\.?$", re.IGNORECASE)


def address_refusal(address: IPAddress) -> str | None:
    """Why `address` may not be reached, or None if it may."""
    if any(address.version == net.version and address in net for net in _LOOPBACK):
        return None if settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK else "a loopback address"
    if address in _METADATA:
        return _METADATA[address]
    for network, reason in _RANGES:
        if address.version == network.version and address in network:
            return reason
    if not address.is_global:
        return "a reserved or non-public address"
    return None


def _parse_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[str]:
    """Every A and AAAA answer for `host`. Tests replace this to play a rebinding DNS server."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(info[4][0] for info in infos))


Resolver = Callable[[str, int], list[str]]


def _split(url: str) -> tuple[str, str, int, str]:
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeURL("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"The URL is malformed ({exc}).") from exc
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if settings.COMEBACK_WEBHOOK_ALLOW_HTTP else ("https",)
    if scheme not in allowed:
        raise UnsafeURL("The URL must start with https://." if scheme == "http" else "Only https URLs are allowed.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("The URL must not contain a user name or password; deliveries are signed instead.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL("The URL has no host.")
    if port == 0:
        raise UnsafeURL("The URL's port must be between 1 and 65535.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _host_refusal(host: str) -> tuple[IPAddress | None, str | None]:
    """(literal address or None, reason the host itself is refused or None)."""
    if "%" in host:
        return None, "Addresses with an IPv6 zone are not allowed."
    literal = _parse_address(host)
    if literal is None and _NUMERIC_HOST.match(host):
        return None, f"The host {host!r} is an IP address written in an unusual form (decimal, octal or hex)."
    if literal is None:
        try:
            host.encode("idna")
        except UnicodeError:
            return None, f"The host {host!r} is not a valid domain name."
        is_local_name = host.lower() == "localhost" or host.lower().endswith(".localhost")
        if is_local_name and not settings.COMEBACK_WEBHOOK_ALLOW_LOOPBACK:
            return None, f"The host {host!r} is this machine (a loopback address)."
    return literal, None


def check_url(url: str, *, resolver: Resolver | None = None) -> Target:
    """Resolve `url` and return the address to connect to, or raise UnsafeURL with the reason.

    Every address the name resolves to must be allowed, not just the first: otherwise a
    name with one public and one internal answer would pass here and connect inside.
    """
    scheme, host, port, path = _split(url)
    literal, refusal = _host_refusal(host)
    if refusal:
        raise UnsafeURL(refusal)
    if literal is not None:
        addresses: list[str] = [str(literal)]
    else:
        try:
            addresses = (resolver or resolve)(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnsafeURL(f"The host {host!r} could not be resolved.") from exc
        if not addresses:
            raise UnsafeURL(f"The host {host!r} could not be resolved.")
    for raw in addresses:
        address = _parse_address(raw.split("%", 1)[0])
        if address is None:
            raise UnsafeURL(f"The host {host!r} resolved to something that is not an IP address.")
        reason = address_refusal(address)
        if reason:
            shown = host if literal is not None else f"{host} ({address})"
            raise UnsafeURL(f"The URL points at {reason}: {shown}. Webhooks may only go to public addresses.")
    return Target(scheme=scheme, host=host, port=port, address=addresses[0].split("%", 1)[0], path=path)
