"""The address of the client behind the reverse proxy, for per-address limits (sign-in, password reset).

gunicorn leaves REMOTE_ADDR as the proxy's address (it reads X-Forwarded-For for nothing but
the scheme), so behind nginx every client would share one address and one client's failed
sign-ins would lock everyone out. When the peer is a trusted proxy (COMEBACK_TRUSTED_PROXIES,
read from the same FORWARDED_ALLOW_IPS that gunicorn trusts) the client is the right-most
X-Forwarded-For entry that is not itself a trusted proxy: entries further left were written
by the client and prove nothing.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

type Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _trusted_networks(proxies: tuple[str, ...]) -> tuple[Network, ...] | None:
    """The networks in `proxies`; None means every peer ("*")."""
    if "*" in proxies:
        return None
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies if proxy)


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def _is_trusted(address, networks: tuple[Network, ...] | None) -> bool:
    return networks is None or any(address.version == network.version and address in network for network in networks)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the address a trusted proxy says it forwarded for."""
    remote = request.META.get("REMOTE_ADDR") or None
    peer = _parse(remote) if remote else None
    networks = _trusted_networks(tuple(settings.COMEBACK_TRUSTED_PROXIES))
    if peer is None or not _is_trusted(peer, networks):
        return str(peer) if peer else None
    forwarded = [_parse(part) for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if networks is None:
        # "*": any peer may be the proxy, so only the hop it appended itself is believed.
        return str(forwarded[-1]) if forwarded and forwarded[-1] else str(peer)
    for address in reversed(forwarded):
        if address is None:
            break  # a malformed hop: nothing to its left can be trusted either
        if not _is_trusted(address, networks):
            return str(address)
    return str(peer)
