"""Who is on the other end: the client's address, as per-address limits and logs count it.

Behind a reverse proxy every request comes from the proxy; ``STREAM_TRUSTED_PROXIES`` names the
proxies whose ``X-Forwarded-For`` is believed. The header is read from the right: the first
address that is not a trusted proxy is the client (a client cannot forge its way past its own
proxy's entry). From anyone else the header is ignored.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from aiohttp import web

from stream.http.keys import SETTINGS

UNKNOWN = "unknown"
MAX_FORWARDED_HOPS = 16

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[_Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in trusted)


def _is_trusted(address: str, networks: tuple[_Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in networks)


def from_trusted_proxy(request: web.Request) -> bool:
    """Whether the request came straight from a trusted proxy."""
    networks = _networks(request.app[SETTINGS].trusted_proxies)
    return bool(networks and request.remote and _is_trusted(request.remote, networks))


def client_address(request: web.Request) -> str:
    """The client's IP address (text), or ``"unknown"``."""
    peer = request.remote or ""
    networks = _networks(request.app[SETTINGS].trusted_proxies)
    if not peer or not networks or not _is_trusted(peer, networks):
        return peer or UNKNOWN
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed(hops[-MAX_FORWARDED_HOPS:]):
        if not hop:
            continue
        if not _is_trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop.strip("[]")))
            except ValueError:
                return peer  # a garbled header: count the proxy, not a made-up name
    return peer
