"""RTMP ingest end to end: FFmpeg's RTMP client (PyAV) and librtmp publish into a session;
an aiortc WHEP viewer receives the H.264 as sent (starting at a keyframe) and Opus audio."""

from __future__ import annotations

import asyncio
import os

import av
import pytest
from aiohttp.test_utils import TestServer

from stream.http.keys import ROOMS, RTMP_SERVER
from stream.ingest.rtmp.publisher import RtmpPublisher
from stream.rooms.media import h264_is_keyframe
from stream.rooms.room import Room
from tests.conftest import base_url, create_session
from tests.ingest.rtmp import librtmp_client
from tests.ingest.rtmp.avclient import PublisherProcess
from tests.ingest.rtmp.conftest import rtmp_url
from tests.ingest.rtmp.flvfile import encode_flv, flv_tags
from tests.media import Received, nal_units, wait_for, watch


def room_of(server: TestServer, session_id: str) -> Room | None:
    return server.app[ROOMS].get(session_id)


async def wait_live(server: TestServer, session_id: str) -> Room:
    """Until the session's room has an RTMP publisher sending both video and audio."""

    def ready() -> bool:
        room = room_of(server, session_id)
        return room is not None and room.live and set(room.codecs()) == {"video", "audio"}

    await wait_for(ready, 20, "RTMP publisher live with video and audio")
    room = room_of(server, session_id)
    assert room is not None
    return room


def frames_in(room: Room, kind: str) -> int:
    counts = room.stats()["frames_in"]
    assert isinstance(counts, dict)
    return int(counts.get(kind, 0))


def check_viewer_media(received: Received) -> None:
    video = received.frames["video"]
    assert h264_is_keyframe(video[0]), "the viewer must start at a keyframe"
    assert [unit[0] & 0x1F for unit in nal_units(video[0])][:2] == [7, 8], "SPS, PPS first"
    decoder = av.CodecContext.create("h264", "r")
    pictures = [f for frame in video for f in decoder.decode(av.Packet(frame))]
    assert len(pictures) >= len(video) - 2  # passed through intact: every frame decodes
    assert (pictures[0].width, pictures[0].height) == (320, 180)
    opus = av.CodecContext.create("opus", "r")
    sound = [f for frame in received.frames["audio"] for f in opus.decode(av.Packet(frame))]
    assert sound
    assert {f.sample_rate for f in sound} == {48000}


async def test_pyav_publisher_reaches_a_whep_viewer(rtmp_app: TestServer) -> None:
    key = await create_session(rtmp_app, "rtmp-live")
    publisher = await PublisherProcess(rtmp_url(rtmp_app, key), seconds=30).start()
    try:
        room = await wait_live(rtmp_app, "rtmp-live")
        assert isinstance(room.publisher, RtmpPublisher)
        client, received = await watch(base_url(rtmp_app), "rtmp-live")
        try:
            await wait_for(lambda: len(received.frames["video"]) >= 45, 20, "45 video frames")
            await wait_for(lambda: len(received.frames["audio"]) >= 50, 20, "50 audio frames")
            check_viewer_media(received)
        finally:
            await client.close()
        code, out, err = await publisher.finish()
        assert code == 0, err
        assert '"video"' in out
        await wait_for(lambda: room.publisher is None, 10, "clean unpublish")
    finally:
        await publisher.kill()


async def test_wrong_key_is_refused_and_creates_no_publisher(rtmp_app: TestServer) -> None:
    await create_session(rtmp_app, "rtmp-locked")
    publisher = await PublisherProcess(rtmp_url(rtmp_app, "not-the-key"), seconds=5).start()
    code, _, err = await publisher.wait(20)
    assert code == 1, err
    room = room_of(rtmp_app, "rtmp-locked")
    assert room is None or room.publisher is None
    assert rtmp_app.app[ROOMS].all() == []
    await wait_for(lambda: not rtmp_app.app[RTMP_SERVER].connections, 5, "connection closed")


async def send_garbage(port: int, data: bytes) -> bool:
    """Send ``data``; True if the server then closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(15):
            while await reader.read(65536):
                pass
        return True
    except ConnectionError:
        return True
    finally:
        writer.close()


async def test_garbage_does_not_break_a_concurrent_publisher(rtmp_app: TestServer) -> None:
    key = await create_session(rtmp_app, "rtmp-robust")
    publisher = await PublisherProcess(rtmp_url(rtmp_app, key), seconds=30).start()
    try:
        room = await wait_live(rtmp_app, "rtmp-robust")
        attached = room.publisher
        port = rtmp_app.app[RTMP_SERVER].port
        handshake = b"\x03" + bytes(1536)
        garbage = [
            os.urandom(20_000),
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(3100),
            handshake + bytes(1536) + os.urandom(5000),
            handshake + bytes(1536) + b"\x03" + b"\xff" * 6 + b"\x14" + bytes(4),  # 16 MiB
        ]
        before = frames_in(room, "video")
        closed = await asyncio.gather(*(send_garbage(port, data) for data in garbage))
        assert all(closed)
        await wait_for(lambda: frames_in(room, "video") >= before + 30, 10, "publisher goes on")
        assert room.publisher is attached
        client, received = await watch(base_url(rtmp_app), "rtmp-robust")
        try:
            await wait_for(lambda: len(received.frames["video"]) >= 20, 20, "video frames")
            assert h264_is_keyframe(received.frames["video"][0])
        finally:
            await client.close()
        code, _, err = await publisher.finish()
        assert code == 0, err
    finally:
        await publisher.kill()


async def test_killed_publisher_is_detached(rtmp_app: TestServer) -> None:
    key = await create_session(rtmp_app, "rtmp-crash")
    publisher = await PublisherProcess(rtmp_url(rtmp_app, key), seconds=30).start()
    try:
        room = await wait_live(rtmp_app, "rtmp-crash")
    finally:
        await publisher.kill()
    await wait_for(lambda: room.publisher is None, 10, "detach after the encoder died")
    await wait_for(lambda: not rtmp_app.app[RTMP_SERVER].connections, 5, "connection gone")


LIBRTMP = librtmp_client.load()


@pytest.mark.skipif(LIBRTMP is None, reason="librtmp (Debian: librtmp1) is not installed")
async def test_librtmp_publisher_as_obs_uses(rtmp_app: TestServer) -> None:
    assert LIBRTMP is not None
    key = await create_session(rtmp_app, "rtmp-librtmp")
    tags = flv_tags(await asyncio.to_thread(encode_flv, 2.0))
    url = rtmp_url(rtmp_app, key)
    publisher = librtmp_client.LibrtmpPublisher(LIBRTMP, url, tags, loops=10).start()
    try:
        room = await wait_live(rtmp_app, "rtmp-librtmp")
        client, received = await watch(base_url(rtmp_app), "rtmp-librtmp")
        try:
            await wait_for(lambda: len(received.frames["video"]) >= 30, 20, "30 video frames")
            await wait_for(lambda: len(received.frames["audio"]) >= 25, 20, "25 audio frames")
            check_viewer_media(received)
        finally:
            await client.close()
    finally:
        publisher.stop.set()
        await asyncio.to_thread(publisher.join)
    assert publisher.result == "published"
    await wait_for(lambda: room.publisher is None, 10, "unpublish")
    refused = librtmp_client.LibrtmpPublisher(LIBRTMP, rtmp_url(rtmp_app, "nope"), tags).start()
    await asyncio.to_thread(refused.join)
    assert refused.result == "stream refused"
    assert room.publisher is None
