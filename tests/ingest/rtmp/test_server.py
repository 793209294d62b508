"""The RTMP server over real sockets with a scripted client: the publish exchange, refusals,
bad input and timeouts (each closing one connection only), and the connection limit."""

from __future__ import annotations

import asyncio
import logging
import os
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from stream.ingest.rtmp import amf
from stream.ingest.rtmp.chunks import (
    ACKNOWLEDGEMENT,
    AUDIO,
    COMMAND_AMF0,
    MAX_MESSAGE_SIZE,
    SET_CHUNK_SIZE,
    SET_PEER_BANDWIDTH,
    VIDEO,
    WINDOW_ACK_SIZE,
    Message,
)
from stream.ingest.rtmp.connection import SERVER_CHUNK_SIZE, KeyGrant, Limits
from stream.ingest.rtmp.messages import window_ack_size
from stream.ingest.rtmp.publisher import RtmpPublisher
from stream.ingest.rtmp.server import RtmpServer
from stream.rooms.room import Room, RoomRegistry
from tests.ingest.rtmp.client import RtmpTestClient
from tests.ingest.rtmp.samples import video_frame, video_sequence_header
from tests.media import wait_for

KEYS = {"good-key-1": "s1", "good-key-2": "s2"}


@dataclass
class Harness:
    server: RtmpServer
    rooms: RoomRegistry
    lookups: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port

    def room(self, session_id: str) -> Room:
        room = self.rooms.get(session_id)
        assert room is not None
        return room


@pytest.fixture
async def rtmp() -> AsyncIterator[Harness]:
    rooms = RoomRegistry()
    harness: Harness

    async def authorise(key: str) -> KeyGrant | None:
        harness.lookups.append(key)
        if key == "lookup-fails":
            raise ConnectionError("Redis is down")
        session_id = KEYS.get(key)
        return KeyGrant(session_id) if session_id is not None else None

    server = RtmpServer(
        authorise,
        rooms.get_or_create,
        limits=Limits(handshake_timeout=0.5, idle_timeout=1.0, publish_timeout=2.0),
        max_connections=6,
    )
    harness = Harness(server, rooms)
    await server.start("127.0.0.1", 0)
    yield harness
    await server.close()
    await rooms.close_all("test over")


async def publishing_client(port: int, key: str = "good-key-1") -> RtmpTestClient:
    client = await RtmpTestClient.open(port)
    status = await client.start_publish(key)
    assert status.info["code"] == "NetStream.Publish.Start"
    await client.send(Message(VIDEO, video_sequence_header(), 0, 1), 6)
    return client


async def send_video(client: RtmpTestClient, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        await client.send(Message(VIDEO, video_frame(n % 30 == 0), n * 33, 1), 6)


async def test_obs_style_publish_exchange(rtmp: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = await RtmpTestClient.open(rtmp.port)
    connected = await client.connect_app()
    assert connected.name == "_result"
    assert connected.transaction == 1
    assert connected.info["code"] == "NetConnection.Connect.Success"
    controls = [m.type_id for m in client.received[:3]]
    assert controls == [WINDOW_ACK_SIZE, SET_PEER_BANDWIDTH, SET_CHUNK_SIZE]
    assert client.chunks.chunk_size == SERVER_CHUNK_SIZE
    await client.close()

    client = await RtmpTestClient.open(rtmp.port)
    status = await client.start_publish("good-key-1?obs=1")  # query strings are ignored
    assert status.name == "onStatus"
    assert status.stream_id == 1
    assert status.info["code"] == "NetStream.Publish.Start"
    room = rtmp.room("s1")
    assert isinstance(room.publisher, RtmpPublisher)
    assert not room.publisher.answers_keyframe_requests
    await client.send(Message(VIDEO, video_sequence_header(), 0, 1), 6)
    await send_video(client, 45)
    await wait_for(lambda: room.stats()["frames_in"] == {"video": 45}, 5, "45 frames")
    assert room.codecs() == {"video": "H264"}
    assert room.live
    await client.call("FCUnpublish", 6, None, "good-key-1")
    await client.call("deleteStream", 7, None, 1.0)
    await wait_for(lambda: room.publisher is None, 5, "unpublish")
    await client.close()
    assert "good-key" not in caplog.text  # stream keys are secrets


async def test_wrong_key_is_refused_and_creates_no_publisher(
    rtmp: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = await RtmpTestClient.open(rtmp.port)
    status = await client.start_publish("not-a-key")
    assert status.name == "onStatus"
    assert status.info["level"] == "error"
    assert status.info["code"] == "NetStream.Publish.BadName"
    assert await client.closed_by_server()
    assert rtmp.lookups == ["not-a-key"]
    assert rtmp.rooms.all() == []
    assert "not-a-key" not in caplog.text
    # An empty or absurdly long name is refused without a lookup.
    for key in ("", "k" * 300):
        client = await RtmpTestClient.open(rtmp.port)
        status = await client.start_publish(key)
        assert status.info["code"] == "NetStream.Publish.BadName"
        assert await client.closed_by_server()
    assert len(rtmp.lookups) == 1


async def test_a_failed_lookup_refuses_and_closes(rtmp: Harness) -> None:
    client = await RtmpTestClient.open(rtmp.port)
    status = await client.start_publish("lookup-fails")
    assert status.info["code"] == "NetStream.Publish.BadName"
    assert "try again" in str(status.info["description"])
    assert await client.closed_by_server()
    assert rtmp.rooms.all() == []


async def test_second_publisher_on_a_live_session_is_refused(rtmp: Harness) -> None:
    first = await publishing_client(rtmp.port)
    publisher = rtmp.room("s1").publisher
    second = await RtmpTestClient.open(rtmp.port)
    status = await second.start_publish("good-key-1")
    assert status.info["code"] == "NetStream.Publish.BadName"
    assert "already has a live publisher" in str(status.info)
    assert await second.closed_by_server()
    assert rtmp.room("s1").publisher is publisher
    await send_video(first, 3)
    await wait_for(lambda: rtmp.room("s1").stats()["frames_in"] == {"video": 3}, 5, "frames")
    await first.close()
    await wait_for(lambda: rtmp.room("s1").publisher is None, 5, "detach on disconnect")


async def test_other_apps_are_rejected(rtmp: Harness) -> None:
    client = await RtmpTestClient.open(rtmp.port)
    reply = await client.connect_app("vod")
    assert reply.name == "_error"
    assert reply.info["code"] == "NetConnection.Connect.Rejected"
    assert await client.closed_by_server()


def chunk0(csid: int, type_id: int, length: int, payload: bytes, stream_id: int = 0) -> bytes:
    header = bytes([csid]) + (0).to_bytes(3, "big") + length.to_bytes(3, "big")
    return header + bytes([type_id]) + struct.pack("<I", stream_id) + payload


def command_bytes(payload: bytes) -> bytes:
    return chunk0(3, COMMAND_AMF0, len(payload), payload)


CONNECT = command_bytes(amf.encode("connect", 1, {"app": "live"}))


@pytest.mark.parametrize(
    ("handshake", "data"),
    [
        (False, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(2000)),  # not RTMP
        (False, b"\x06" + bytes(1536)),  # RTMPE
        (True, os.urandom(4096)),
        (True, command_bytes(b"\x02\x00\x03foo\x00" + bytes(8))),  # unknown command
        (True, CONNECT + command_bytes(b"\x02\x00\x07unknown\x00" + bytes(8))),
        (True, command_bytes(b"\x02\x00\x0ccreateStream\x00" + bytes(8) + b"\x05")),  # no connect
        (True, CONNECT + command_bytes(b"\x02\x00\x04play\x00" + bytes(8) + b"\x05")),
        (True, command_bytes(b"\x11\x00\x01")),  # AMF garbage
        (True, CONNECT + chunk0(6, VIDEO, 5, b"\x17\x01\x00\x00\x00", 1)),  # media before publish
        (True, chunk0(6, VIDEO, MAX_MESSAGE_SIZE + 1, b"")),  # oversized
        (True, chunk0(3, 0x7F, 1, b"x")),  # unknown message type
        (True, chunk0(3, 16, 1, b"x")),  # shared objects
    ],
)
async def test_bad_input_closes_only_that_connection(
    rtmp: Harness, handshake: bool, data: bytes
) -> None:
    good = await publishing_client(rtmp.port)
    bad = await RtmpTestClient.open(rtmp.port, handshake=handshake)
    await bad.send_raw(data)
    assert await bad.closed_by_server(3.0)
    await send_video(good, 5)
    await wait_for(lambda: rtmp.room("s1").stats()["frames_in"] == {"video": 5}, 5, "frames")
    assert rtmp.room("s1").publisher is not None
    await good.close()
    await bad.close()


@pytest.mark.parametrize("stage", ["handshake", "idle", "publish"])
async def test_timeouts_close_the_connection(rtmp: Harness, stage: str) -> None:
    client = await RtmpTestClient.open(rtmp.port, handshake=stage != "handshake")
    loop = asyncio.get_running_loop()
    started = loop.time()
    if stage == "publish":  # busy but never publishing: closed at the publish timeout
        await client.connect_app()
        for _ in range(30):
            if client.writer.is_closing() or client.reader.at_eof():
                break
            try:
                await client.send(window_ack_size(1 << 20), 2)
            except ConnectionError:
                break
            await asyncio.sleep(0.2)
    assert await client.closed_by_server(5.0)
    elapsed = loop.time() - started
    assert elapsed < 4.0
    await wait_for(lambda: not rtmp.server.connections, 3, "the server to forget it")
    await client.close()


async def test_connection_limit(rtmp: Harness) -> None:
    idle = [await RtmpTestClient.open(rtmp.port, handshake=False) for _ in range(6)]
    await wait_for(lambda: len(rtmp.server.connections) == 6, 3, "6 connections")
    extra = await RtmpTestClient.open(rtmp.port, handshake=False)
    assert await extra.closed_by_server(2.0)
    assert rtmp.server.refused == 1
    for client in [*idle, extra]:
        await client.close()


async def test_acknowledges_the_peer_window(rtmp: Harness) -> None:
    client = await publishing_client(rtmp.port)
    await client.send(window_ack_size(5000), 2)
    await client.send(Message(AUDIO, b"\x2f" + bytes(6000), 0, 1), 4)  # MP3: dropped, counted
    while True:
        message = await client.next_message()
        if message.type_id == ACKNOWLEDGEMENT:
            break
    assert struct.unpack(">I", message.payload)[0] >= 6000
    await client.close()


async def test_closing_the_server_detaches_publishers(rtmp: Harness) -> None:
    client = await publishing_client(rtmp.port)
    await send_video(client, 2)
    room = rtmp.room("s1")
    await wait_for(lambda: room.live, 5, "live")
    await rtmp.server.close()
    assert room.publisher is None
    assert await client.closed_by_server(2.0)
    await client.close()
