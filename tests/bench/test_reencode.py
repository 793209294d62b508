"""The benchmark's re-encoding baseline, injected into a room, still delivers video (re-encoded,
so not bit-identical); rooms forward unless told otherwise."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from stream.app import create_app
from stream.bench.reencode import Reencoding
from stream.bench.reencode_server import use_reencoding
from stream.config import Settings
from stream.http.keys import ROOMS
from stream.rooms.forward import Forwarding
from stream.rooms.media import h264_is_keyframe
from stream.rooms.room import RoomRegistry
from tests.conftest import base_url, create_session
from tests.media import nal_units, publish_loop, wait_for, watch


async def test_rooms_forward_by_default() -> None:
    room = RoomRegistry().get_or_create("s")
    assert isinstance(room.outputs, Forwarding)


async def test_injected_reencoding_delivers_new_encodes(settings: Settings) -> None:
    app = create_app(settings)
    use_reencoding(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        await watch_reencoded(server)
    finally:
        await server.close()


async def watch_reencoded(server: TestServer) -> None:
    base = base_url(server)
    key = await create_session(server, "baseline")
    publisher, video = await publish_loop(base, "baseline", key, audio=False)
    room = server.app[ROOMS].get("baseline")
    assert room is not None
    assert isinstance(room.outputs, Reencoding)
    await wait_for(lambda: room.live, what="room live")
    video.record = True
    client, received = await watch(base, "baseline")
    try:
        await wait_for(lambda: len(received.frames["video"]) >= 10, what="10 frames")
        assert h264_is_keyframe(received.frames["video"][0])
        sent = {tuple(nal_units(frame)) for frame in video.sent}
        got = [tuple(nal_units(frame)) for frame in received.frames["video"][:10]]
        assert not any(frame in sent for frame in got), "frames should have been re-encoded"
    finally:
        await client.close()
        await publisher.close()
