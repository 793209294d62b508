"""The RTMP listener: accepts clients up to a limit and runs each as an :class:`RtmpConnection`.

A connection's failure is its own: every connection task catches what it raises, and the
listener never stops for a client. On close, every connection is cancelled (its publisher is
detached from its room) before the listener is awaited.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from stream.ingest.rtmp.connection import Authorise, Limits, RoomFor, RtmpConnection

logger = logging.getLogger(__name__)

MAX_CONNECTIONS = 256  # concurrent RTMP clients, publishing or not
LISTEN_BACKLOG = 128


class RtmpServer:
    def __init__(
        self,
        authorise: Authorise,
        room_for: RoomFor,
        *,
        limits: Limits | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.authorise = authorise
        self.room_for = room_for
        self.limits = limits or Limits()
        self.max_connections = max_connections
        self.connections: dict[asyncio.Task[None], RtmpConnection] = {}
        self.refused = 0
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
        if len(self.connections) >= self.max_connections:
            self.refused += 1
            logger.warning("[rtmp %s] refused: %d connections open", name, len(self.connections))
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
        try:
            await connection.run()
        finally:
            self.connections.pop(task, None)

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


def _peer_name(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family == socket.AF_INET6 and isinstance(peer, tuple):
        return f"[{peer[0]}]:{peer[1]}"
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return "?"
