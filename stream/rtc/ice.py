"""ICE settings: which host addresses are offered, and which STUN/TURN servers are used.

aioice gathers host candidates from every interface except loopback, and aiortc falls back to a
public STUN server when given no ``iceServers``. Both are wrong for a server: the addresses it
offers are a setting (behind NAT the public one; on a test machine 127.0.0.1), and the ICE
servers are exactly the configured ones, possibly none.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from urllib.parse import unquote

from aiortc import RTCConfiguration, RTCIceServer

from stream.rtc import internals


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


def host_addresses(addresses: tuple[str, ...]) -> AbstractContextManager[None]:
    """Offer exactly ``addresses`` as ICE host candidates while the context is open.

    Called once when the application starts (and by the relay benchmark for its own peers).
    aioice takes no per-connection list, so this is process-wide: one process has one set of
    ICE host addresses. With no addresses aioice's default stays. The replacement itself is in
    ``stream.rtc.internals`` with the other reaches into aiortc and aioice.
    """
    return internals.offer_host_addresses(addresses)
