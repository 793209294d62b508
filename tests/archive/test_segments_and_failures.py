"""A returning publisher continues the recording in a new segment; the per-session switch;
a recording that cannot be written stops, marked failed, while the live relay goes on."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from stream.config import Settings
from stream.http.keys import ARCHIVE, REDIS, ROOMS
from stream.program.sessions import SessionStore
from tests.archive.helpers import end_session, probe, publish_for, recording, recording_state
from tests.conftest import MakeServer, base_url, create_session
from tests.media import publish_loop, wait_for, watch


async def test_publisher_that_returns_adds_a_segment(server: TestServer) -> None:
    key = await create_session(server, "again")
    first = await publish_for(server, "again", key, 2.0)
    room = server.app[ROOMS].get("again")
    assert room is not None
    await wait_for(lambda: room.publisher is None, what="first publisher gone")
    await asyncio.sleep(0.5)
    second = await publish_for(server, "again", key, 2.0)
    await end_session(server, "again")
    directory, index = recording(server, "again")
    assert [s.file for s in index.segments] == ["segment-000.mp4", "segment-001.mp4"]
    for segment, live in zip(index.segments, (first, second), strict=True):
        assert segment.complete
        assert abs(segment.duration - live) < 1.0, (segment.duration, live)
        assert probe(directory / segment.file)["kinds"]["video"] == "h264"
    assert index.offsets() == [0.0, index.segments[0].duration]
    assert index.segments[1].started > index.segments[0].started + index.segments[0].duration
    assert (await recording_state(server, "again")).state == "done"


async def test_session_with_recording_off_is_not_recorded(server: TestServer) -> None:
    key = await create_session(server, "norec")
    store = SessionStore(server.app[REDIS])
    await store.save(replace(await store.get("norec"), record=False))
    assert (await store.get("norec")).record is False
    await publish_for(server, "norec", key, 1.5)
    await end_session(server, "norec")
    assert (await recording_state(server, "norec")).state == "off"
    directory = server.app[ARCHIVE].recordings / "norec"
    assert not any(directory.glob("*.mp4")) or all(
        p.stat().st_size == 0 for p in directory.glob("*.mp4")
    )


async def _recording_fails_while_viewers_watch(
    server: TestServer, session_id: str, caplog: pytest.LogCaptureFixture
) -> str:
    key = await create_session(server, session_id)
    base = base_url(server)
    publisher, _ = await publish_loop(base, session_id, key)
    room = server.app[ROOMS].get(session_id)
    assert room is not None
    await wait_for(lambda: room.live, what="room live")
    viewer, received = await watch(base, session_id)
    try:

        async def failed() -> bool:
            return (await recording_state(server, session_id)).state == "failed"

        for _ in range(100):
            if await failed():
                break
            await asyncio.sleep(0.1)
        state = await recording_state(server, session_id)
        assert state.state == "failed", state
        # The relay is untouched: the viewer keeps receiving after the recording stopped.
        before = len(received.frames["video"])
        await wait_for(
            lambda: len(received.frames["video"]) >= before + 30, what="frames after failure"
        )
        assert room.live
        assert room.viewer_count == 1
    finally:
        await viewer.close()
        await publisher.close()
    await end_session(server, session_id)
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("stream.archive") and r.levelno >= logging.ERROR
    ]
    assert len(errors) == 1, errors  # one line says why the recording stopped
    assert errors[0].startswith(f"[{session_id}] recording stopped: ")
    return state.reason


async def test_size_cap_stops_recording_not_the_stream(
    make_server: MakeServer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    server = await make_server(settings.with_(recording_max_bytes=40_000))
    reason = await _recording_fails_while_viewers_watch(server, "capped", caplog)
    assert "size cap" in reason


async def test_unwritable_directory_stops_recording_not_the_stream(
    make_server: MakeServer, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    blocked: Path = settings.data_dir / "recordings" / "blocked"
    blocked.parent.mkdir(parents=True)
    blocked.write_bytes(b"")  # a file where the recording's directory would go
    server = await make_server(settings)
    reason = await _recording_fails_while_viewers_watch(server, "blocked", caplog)
    assert reason
    # The live HLS is a separate output: it went on.
    assert (await recording_state(server, "blocked")).hls in ("recording", "done")
