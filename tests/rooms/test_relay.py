"""The relay end to end with real aiortc peers: publisher → server → viewers, no re-encode."""

from __future__ import annotations

from aiohttp.test_utils import TestServer

from stream.http.keys import ROOMS
from stream.rooms.media import h264_is_keyframe
from tests.conftest import base_url, create_session
from tests.media import nal_units, publish_loop, wait_for, watch


async def test_three_viewers_receive_bit_identical_frames(server: TestServer) -> None:
    base = base_url(server)
    key = await create_session(server, "relay")
    publisher, video = await publish_loop(base, "relay", key, record=True)
    room = server.app[ROOMS].get("relay")
    assert room is not None
    await wait_for(lambda: room.live, what="room live")
    viewers = [await watch(base, "relay") for _ in range(3)]
    try:
        for _, received in viewers:
            await wait_for(lambda r=received: len(r.frames["video"]) >= 45, what="45 video frames")
            await wait_for(lambda r=received: len(r.frames["audio"]) >= 20, what="audio frames")
        sent = [nal_units(frame) for frame in video.sent]
        for _, received in viewers:
            got = [nal_units(frame) for frame in received.frames["video"]]
            assert h264_is_keyframe(received.frames["video"][0]), "viewer must start at a keyframe"
            start = sent.index(got[0])
            assert got[:40] == sent[start : start + 40], "frames differ from what was sent"
        assert room.viewer_count == 3
    finally:
        for client, _ in viewers:
            await client.close()
        await publisher.close()
    await wait_for(lambda: room.viewer_count == 0, what="viewers gone")
