"""Recording a live session without re-encoding: WHIP and RTMP publishers into fMP4."""

from __future__ import annotations

import asyncio
import stat

import av
from aiohttp.test_utils import TestServer

from stream.http.keys import ARCHIVE
from tests.archive.helpers import end_session, probe, recording, recording_state
from tests.conftest import base_url, create_session
from tests.ingest.rtmp.avclient import PublisherProcess
from tests.ingest.rtmp.conftest import rtmp_url
from tests.media import publish_loop, wait_for

SECONDS = 3.0


async def test_whip_session_is_recorded_as_fmp4_without_codecs(server: TestServer) -> None:
    key = await create_session(server, "rec")
    client, _ = await publish_loop(base_url(server), "rec", key)
    archive = server.app[ARCHIVE]
    try:
        await wait_for(lambda: "rec" in archive.sinks, what="archive sink")
        writer = archive.sinks["rec"].writer
        output = writer.outputs[0]
        await wait_for(lambda: output.active, what="recording started")
        opened = output._open  # type: ignore[attr-defined]
        # Packets are muxed as they are: the video stream has no codec context at all, and
        # the audio stream's (copied from a template for its OpusHead) is never opened.
        assert opened.streams["video"].codec_context is None
        assert not opened.streams["audio"].codec_context.is_open
        await asyncio.sleep(SECONDS)
    finally:
        await client.close()
    await end_session(server, "rec")
    state = await recording_state(server, "rec")
    assert state.state == "done"
    directory, index = recording(server, "rec")
    assert len(index.segments) == 1
    segment = index.segments[0]
    assert segment.complete
    assert SECONDS - 0.5 <= segment.duration <= SECONDS + 2.0
    info = probe(directory / segment.file)
    assert info["kinds"] == {"video": "h264", "audio": "opus"}
    # Private like the rest of the data directory.
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert abs(info["duration"] - segment.duration) < 0.5
    assert info["video_packets"] >= 25 * SECONDS * 0.8
    # The file decodes (decoding here, in the test, checks what was written).
    with av.open(str(directory / segment.file)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == info["video_packets"]


async def test_rtmp_session_is_recorded(rtmp_app: TestServer) -> None:
    key = await create_session(rtmp_app, "rec-rtmp")
    publisher = await PublisherProcess(rtmp_url(rtmp_app, key), seconds=SECONDS).start()
    code, _, err = await publisher.wait(30)
    assert code == 0, err
    await end_session(rtmp_app, "rec-rtmp")
    assert (await recording_state(rtmp_app, "rec-rtmp")).state == "done"
    directory, index = recording(rtmp_app, "rec-rtmp")
    assert len(index.segments) == 1
    segment = index.segments[0]
    assert abs(segment.duration - SECONDS) < 1.0, segment.duration
    info = probe(directory / segment.file)
    assert info["kinds"] == {"video": "h264", "audio": "opus"}
    assert info["video_packets"] >= 30 * SECONDS * 0.8
