"""RTMP against idle and greedy clients: one address cannot hold the publisher slots with idle
TCP connections, connections that never publish are cut by their deadlines, and a client that
has not published yet cannot make the server buffer more than a little."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from aiohttp.test_utils import TestServer

from stream.config import Settings
from stream.http.keys import ROOMS, RTMP_SERVER
from stream.ingest.rtmp.chunks import VIDEO, ChunkWriter, Message
from stream.ingest.rtmp.connection import HANDSHAKE_TIMEOUT, MAX_PREPUBLISH_BYTES
from stream.ingest.rtmp.publisher import RtmpPublisher
from stream.ingest.rtmp.server import MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS
from tests.conftest import MakeServer, create_session
from tests.ingest.rtmp.client import RtmpTestClient
from tests.ingest.rtmp.conftest import free_port
from tests.media import wait_for

ATTACKER = "127.0.0.2"  # another loopback address: Linux routes all of 127/8 to lo
IDLE_CONNECTIONS = MAX_CONNECTIONS + 4
GREEDY_BYTES = 1024 * 1024
PIECE = 16 * 1024


@pytest.fixture
async def rtmp_server(make_server: MakeServer, settings: Settings) -> TestServer:
    for attempt in range(3):
        try:
            return await make_server(settings.with_(rtmp_port=free_port()))
        except OSError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def closed(reader: asyncio.StreamReader, timeout: float) -> bool:
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(4096):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


async def test_idle_connections_from_one_address_leave_the_slots_to_publishers(
    rtmp_server: TestServer,
) -> None:
    port = rtmp_server.app[RTMP_SERVER].port
    key = await create_session(rtmp_server, "slots")
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            idle.append(await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0)))
        results = await asyncio.gather(*(closed(reader, 1.0) for reader, _ in idle))
        kept = results.count(False)
        print(f"{IDLE_CONNECTIONS} idle connections from one address: {kept} kept open")
        assert kept <= MAX_CONNECTIONS_PER_ADDRESS

        # A publisher from another address gets a slot and publishes.
        publisher = await RtmpTestClient.open(port)
        try:
            status = await publisher.start_publish(key)
            assert status.info["code"] == "NetStream.Publish.Start", status
            room = rtmp_server.app[ROOMS].get("slots")
            assert room is not None
            assert isinstance(room.publisher, RtmpPublisher)
        finally:
            await publisher.close()

        # The idle ones that were let in are cut by the handshake deadline.
        started = time.monotonic()
        still_open = [reader for (reader, _), gone in zip(idle, results, strict=True) if not gone]
        assert all(await asyncio.gather(*(closed(r, HANDSHAKE_TIMEOUT + 3) for r in still_open)))
        print(f"the rest were cut after {time.monotonic() - started:.1f} s")
        server = rtmp_server.app[RTMP_SERVER]
        await wait_for(lambda: not server.connections, 5, "every connection gone")
    finally:
        for _, writer in idle:
            writer.close()


async def test_a_client_that_has_not_published_cannot_fill_the_servers_memory(
    rtmp_server: TestServer,
) -> None:
    client = await RtmpTestClient.open(rtmp_server.app[RTMP_SERVER].port)
    try:
        result = await client.connect_app()
        assert result.name == "_result"
        await client.set_chunk_size(8 * 1024 * 1024)
        # One 8 MiB video message, never finished, never published: streamed in pieces.
        writer = ChunkWriter()
        writer.chunk_size = 8 * 1024 * 1024
        frame = writer.write(6, Message(VIDEO, bytes(8 * 1024 * 1024 - 1), 0, 1))
        sent = 0
        with contextlib.suppress(ConnectionError):
            while sent < GREEDY_BYTES:
                await client.send_raw(frame[sent : sent + PIECE])
                sent += PIECE
        print(f"sent {sent} bytes before publishing (limit {MAX_PREPUBLISH_BYTES})")
        assert await client.closed_by_server(3.0), "the server kept buffering"
        assert not rtmp_server.app[RTMP_SERVER].connections
    finally:
        await client.close()
