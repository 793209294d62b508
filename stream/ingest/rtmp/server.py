"""The RTMP listener: accepts clients up to a limit and runs each as an :class:`RtmpConnection`.

A connection's failure is its own: every connection task catches what it raises, and the
listener never stops for a client. On close, every connection is cancelled (its publisher is
detached from its room) before the listener is awaited.

One address holds at most ``MAX_CONNECTIONS_PER_ADDRESS`` connections (an IPv6 client its
/64), so idle sockets from one place cannot take the slots publishers need; connections that do
not handshake or publish in time are cut by their deadlines (:class:`Limits`). Refusals are
logged once per burst.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket

from stream.ingest.rtmp.connection import Authorise, Limits, RoomFor, RtmpConnection
from stream.rtc.admission import RefusalLog

logger = logging.getLogger(__name__)

MAX_CONNECTIONS = 256  # concurrent RTMP clients, publishing or not
MAX_CONNECTIONS_PER_ADDRESS = 8  # a studio's encoders behind one address; one is usual
IPV6_CLIENT_PREFIX = 64  # one IPv6 client holds a whole /64
LISTEN_BACKLOG = 128


class RtmpServer:
    def __init__(
        self,
        authorise: Authorise,
        room_for: RoomFor,
        *,
        limits: Limits | None = None,
        max_connections: int = MAX_CONNECTIONS,
        max_per_address: int = MAX_CONNECTIONS_PER_ADDRESS,
    ) -> None:
        self.authorise = authorise
        self.room_for = room_for
        self.limits = limits or Limits()
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        self.connections: dict[asyncio.Task[None], RtmpConnection] = {}
        self.refused = 0
        self._by_address: dict[str, int] = {}
        self._refusals = RefusalLog()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(
            self._accept, host, port, backlog=LISTEN_BACKLOG, reuse_address=True
        )
        logger.info("RTMP ingest listening on %s:%d", host, self.port)

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the RTMP server is not listening")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        name = _peer_name(writer)
        address = _client_key(writer)
        held = self._by_address.get(address, 0)
        if len(self.connections) >= self.max_connections or held >= self.max_per_address:
            self.refused += 1
            detail = (
                f"{held} connections open from this address"
                if held >= self.max_per_address
                else f"{len(self.connections)} connections open"
            )
            self._refusals.refused("RTMP connections", address, detail)
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        connection = RtmpConnection(
            reader,
            writer,
            authorise=self.authorise,
            room_for=self.room_for,
            limits=self.limits,
            name=name,
        )
        self.connections[task] = connection
        self._by_address[address] = held + 1
        try:
            await connection.run()
        except asyncio.CancelledError:
            pass  # the server is closing; this task is the connection's top: end quietly
        finally:
            self.connections.pop(task, None)
            left = self._by_address.get(address, 1) - 1
            if left > 0:
                self._by_address[address] = left
            else:
                self._by_address.pop(address, None)

    async def close(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        tasks = list(self.connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
        logger.info("RTMP ingest stopped")


def _client_key(writer: asyncio.StreamWriter) -> str:
    """What the per-address limit counts: the IPv4 address, or the IPv6 /64."""
    peer = writer.get_extra_info("peername")
    host = peer[0] if isinstance(peer, tuple) and peer else "?"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return str(host)
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)


def _peer_name(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family == socket.AF_INET6 and isinstance(peer, tuple):
        return f"[{peer[0]}]:{peer[1]}"
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return "?"
