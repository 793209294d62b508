"""The benchmark's baseline mode still delivers video (re-encoded, so not bit-identical)."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from stream.config import Settings
from stream.http.keys import ROOMS
from stream.rooms.media import h264_is_keyframe
from tests.conftest import MakeServer, base_url, create_session
from tests.media import nal_units, publish_loop, wait_for, watch


async def test_reencode_mode_delivers_new_encodes(
    make_server: MakeServer, settings: Settings
) -> None:
    server: TestServer = await make_server(settings.with_(relay_mode="reencode"))
    base = base_url(server)
    key = await create_session(server, "baseline")
    publisher, video = await publish_loop(base, "baseline", key, audio=False)
    room = server.app[ROOMS].get("baseline")
    assert room is not None
    assert room.reencode
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
