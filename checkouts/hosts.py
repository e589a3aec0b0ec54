"""Which hosts a store's buyer-supplied URLs may point at: its storefront and media hosts.

Checkout URLs (the recovery redirect) and line-item images (the dashboard, emails) come from
the storefront, so from whoever can call ingest or fill a cart. They are followed or loaded
only when they point at one of the store's own hosts; anything else is refused, so the
recovery link cannot redirect to another site and an image cannot tell a buyer when a
merchant opened their checkout.
"""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.http import url_has_allowed_host_and_scheme

MAX_HOSTS = 20
# A DNS name (labels of letters, digits and inner hyphens) with an optional port; no scheme,
# path, user info or wildcard.
_HOST = re.compile(
    r"^(?=.{1,253}(:|$))[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?$"
)
# Comeback's own product images (the demo's, the tests') are served from here.
OWN_STATIC_PREFIX = "/static/"


def host_of(url: str) -> str:
    """The host (with its port, if any) of an absolute http(s) URL, lower-cased; '' otherwise."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return ""
    if parts.scheme.lower() not in {"http", "https"} or "@" in parts.netloc:
        return ""
    return parts.netloc.lower()


def hosts_parse(text: str) -> list[str]:
    """Hosts from a textarea (one per line, or separated by commas or spaces), validated and de-duplicated."""
    hosts: list[str] = []
    for raw in re.split(r"[\s,]+", text or ""):
        host = raw.strip().lower().rstrip(".")
        if host and host not in hosts:
            hosts.append(host)
    validate_hosts(hosts)
    return hosts


def validate_hosts(value) -> None:
    if not isinstance(value, list) or not all(isinstance(host, str) for host in value):
        raise ValidationError("Enter a list of host names.", code="hosts")
    if len(value) > MAX_HOSTS:
        raise ValidationError(f"Enter at most {MAX_HOSTS} hosts.", code="hosts")
    for host in value:
        if not _HOST.match(host):
            raise ValidationError(
                f"{host!r} is not a host name: enter names like shop.example.com, without https:// or a path.",
                code="hosts",
            )


def url_on_hosts(url: str, hosts) -> bool:
    """An absolute http(s) URL whose host is one of `hosts`, and which every browser reads the same way.

    Django's own redirect check refuses the tricks (backslashes, control characters,
    `https:///evil`, user info) that make a browser go to another host than a parser sees.
    """
    host = host_of(url)
    if not host or host not in hosts:
        return False
    return url_has_allowed_host_and_scheme(url, allowed_hosts={urlsplit(url).netloc})


def image_url_allowed(url: str, hosts) -> bool:
    """May a browser load this line-item image? The store's hosts, or Comeback's own static files."""
    if not url or ".." in url or "%2e" in url.lower():  # no climbing out of /static/ to another page
        return False
    if url.startswith(OWN_STATIC_PREFIX):
        return url_has_allowed_host_and_scheme(url, allowed_hosts=set())
    own = settings.COMEBACK_PUBLIC_URL + OWN_STATIC_PREFIX
    if url.startswith(own):
        return url_on_hosts(url, {host_of(own)})
    return url_on_hosts(url, hosts)
