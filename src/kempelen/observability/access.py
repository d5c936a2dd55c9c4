"""Who may read ``/metrics``: clients in the allowed networks, or anyone presenting the bearer token.

The defaults allow loopback and private networks only. The client address is the one the sign-in limits use
(``X-Forwarded-For`` is believed only as far as ``KEMPELEN_TRUSTED_PROXY_COUNT`` says): behind a reverse proxy
that does not set it, every request seems to come from the proxy, so set that count, refuse ``/metrics`` at
the proxy, or rely on a token with an empty network list.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from typing import cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from kempelen.worker_site.ratelimit import client_address

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def parse_networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in spec if part.strip())
    except ValueError as error:
        raise ImproperlyConfigured(f"KEMPELEN_METRICS_ALLOWED_NETWORKS: {error}") from error


def _presents_token(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _in_networks(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def may_read_metrics(request: HttpRequest) -> bool:
    token = str(settings.KEMPELEN.get("METRICS_TOKEN") or "")
    if token and _presents_token(request, token):
        return True
    allowed = cast(list[str], settings.KEMPELEN.get("METRICS_ALLOWED_NETWORKS", []))
    networks = parse_networks(tuple(allowed))
    return _in_networks(client_address(request), networks)
