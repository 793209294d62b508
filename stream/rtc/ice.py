"""ICE settings: which host addresses are offered, and which STUN/TURN servers are used.

aioice gathers host candidates from every interface except loopback, and aiortc falls back to a
public STUN server when given no ``iceServers``. Both are wrong for a server: the addresses it
offers are a setting (behind NAT the public one; on a test machine 127.0.0.1), and the ICE
servers are exactly the configured ones, possibly none.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import unquote

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

HostAddresses = Callable[[bool, bool], list[str]]


def parse_ice_server(url: str) -> RTCIceServer:
    """``stun:host:port`` or ``turn[s]:user:password@host:port[?transport=tcp]``."""
    scheme, _, rest = url.partition(":")
    if scheme not in ("stun", "turn", "turns"):
        raise ValueError(f"unsupported ICE server scheme in {url!r}")
    if "@" in rest:
        credentials, _, address = rest.rpartition("@")
        username, _, password = credentials.partition(":")
        return RTCIceServer(
            urls=f"{scheme}:{address}", username=unquote(username), credential=unquote(password)
        )
    return RTCIceServer(urls=url)


def rtc_configuration(ice_servers: tuple[str, ...]) -> RTCConfiguration:
    return RTCConfiguration(iceServers=[parse_ice_server(url) for url in ice_servers])


@contextmanager
def host_addresses(addresses: tuple[str, ...]) -> Iterator[None]:
    """Offer exactly ``addresses`` as host candidates while the context is open.

    aioice reads its gathering function from its module, so this is process-wide: one server
    process has one set of ICE host addresses. With no addresses aioice's default stays.
    """
    if not addresses:
        yield
        return
    parsed = [ipaddress.ip_address(address) for address in addresses]
    original: HostAddresses = aioice.ice.get_host_addresses

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [
            str(ip)
            for ip in parsed
            if (ip.version == 4 and use_ipv4) or (ip.version == 6 and use_ipv6)
        ]

    setattr(aioice.ice, "get_host_addresses", configured)  # noqa: B010
    try:
        yield
    finally:
        setattr(aioice.ice, "get_host_addresses", original)  # noqa: B010
