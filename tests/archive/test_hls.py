"""Live HLS: written while the room is live (fMP4 segments cut at keyframes, ~2 s, a rolling
playlist), read by FFmpeg's HLS client (PyAV) from the test server, with the cache headers a
CDN needs; WebRTC publishers are asked for a keyframe every ~2 s."""

from __future__ import annotations

import asyncio
import itertools
import re
import time

import aiohttp
import av
from aiohttp.test_utils import TestServer

from stream.archive.outputs import HLS_PLAYLIST_SEGMENTS
from stream.archive.service import HLS_KEYFRAME_INTERVAL
from stream.http.keys import ARCHIVE, ROOMS
from stream.ingest import testpattern
from stream.ingest.sources import EncodedLoopTrack, encode_test_pattern
from stream.ingest.whip_client import WhipClient
from tests.archive.helpers import end_session
from tests.conftest import base_url, create_session
from tests.media import wait_for

LONG_GOP = 240  # 8 s at 30 fps: without the archive's requests, one keyframe per 8 s
MAX_LATENCY = 8.0
FRAMES_TO_READ = 45


def _segments(playlist: str) -> list[tuple[float, str]]:
    return [
        (float(duration), name)
        for duration, name in re.findall(r"#EXTINF:([\d.]+),\s*\n(\S+)", playlist)
    ]


def read_live(url: str, origin_wall: float) -> tuple[int, float, tuple[int, int]]:
    """Decode frames from the live playlist; (frames, latency of the last one, size)."""
    frames = 0
    latency = 0.0
    size = (0, 0)
    with av.open(url, options={"rw_timeout": "10000000"}, timeout=10) as container:
        start = None
        for frame in container.decode(video=0):
            assert frame.time is not None
            if start is None:
                start = frame.time
            frames += 1
            size = (frame.width, frame.height)
            # The frame's place on the room's timeline vs. the wall clock now.
            latency = (time.time() - origin_wall) - frame.time
            if frames >= FRAMES_TO_READ:
                break
    return frames, latency, size


async def test_live_hls_read_by_pyav(server: TestServer) -> None:
    key = await create_session(server, "hls")
    base = base_url(server)
    frames = encode_test_pattern(width=320, height=180, frames=LONG_GOP, gop=LONG_GOP)
    video = EncodedLoopTrack(frames)
    client = WhipClient(f"{base}/whip/hls", key, [video, testpattern.TestPatternAudioTrack()])
    await client.publish()
    room = server.app[ROOMS].get("hls")
    assert room is not None
    directory = server.app[ARCHIVE].hls / "hls"
    keyframes: list[float] = []
    try:
        await wait_for(lambda: room.live, what="room live")

        async def watch_keyframes() -> None:
            last = None
            while True:
                if room.last_keyframe_at != last and room.last_keyframe_at is not None:
                    last = room.last_keyframe_at
                    keyframes.append(last)
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch_keyframes())
        playlist_path = directory / "index.m3u8"
        await wait_for(
            lambda: playlist_path.exists() and len(_segments(playlist_path.read_text())) >= 2,
            timeout=15,
            what="two HLS segments",
        )
        url = f"{base}/hls/hls/index.m3u8"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as response:
                assert response.status == 200
                assert response.headers["Cache-Control"] == "public, max-age=1"
                assert response.content_type == "application/vnd.apple.mpegurl"
                playlist = await response.text()
            segment = _segments(playlist)[0][1]
            async with http.get(f"{base}/hls/hls/{segment}") as response:
                assert response.status == 200
                assert "immutable" in response.headers["Cache-Control"]
                assert "max-age=" in response.headers["Cache-Control"]
            async with http.get(f"{base}/hls/hls/..%2Fsecret") as response:
                assert response.status == 404
        # The recording's index holds the wall-clock start of the room's timeline.
        origin_wall = server.app[ARCHIVE].sinks["hls"].writer.outputs[0]._index.segments[0].started  # type: ignore[attr-defined]
        count, latency, size = await asyncio.to_thread(read_live, url, origin_wall)
        assert count == FRAMES_TO_READ
        assert size == (320, 180)
        assert 0 <= latency <= MAX_LATENCY, latency
        print(f"HLS latency {latency:.2f} s")
        playlist = playlist_path.read_text()
        durations = [d for d, _ in _segments(playlist)]
        assert len(durations) <= HLS_PLAYLIST_SEGMENTS
        assert all(d <= HLS_KEYFRAME_INTERVAL + 1.5 for d in durations), durations
        watcher.cancel()
        gaps = [b - a for a, b in itertools.pairwise(keyframes)]
        assert gaps
        assert max(gaps) <= HLS_KEYFRAME_INTERVAL + 1.0, gaps
        print("keyframe gaps", [round(g, 2) for g in gaps], "segments", durations)
    finally:
        await client.close()
    await end_session(server, "hls")
    assert not directory.exists(), "live HLS is removed when the room closes"
