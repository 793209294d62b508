"""A WHIP publisher that sends VP8 (aiortc's own encoder, as when H.264 is not negotiated):
its recording is WebM (VP8 and Opus passed through, nothing re-encoded) and replays in
Chromium with the right length; the live HLS, which carries H.264 only, says it is off."""

from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from stream.http.keys import ROOMS
from stream.ingest import testpattern
from stream.ingest.whip_client import WhipClient
from tests.archive.helpers import end_session, probe, recording, recording_state
from tests.conftest import base_url, create_session
from tests.e2e.conftest import PageLog
from tests.media import wait_for

SECONDS = 4.0


async def test_vp8_publisher_is_recorded_as_webm_and_replays(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, "vp8", title="VP8 från webbläsaren")
    tracks = [testpattern.TestPatternVideoTrack(320, 180), testpattern.TestPatternAudioTrack()]
    client = WhipClient(f"{base}/whip/vp8", key, list(tracks), video_codec="VP8")
    await client.publish()
    room = server.app[ROOMS].get("vp8")
    assert room is not None
    try:
        await wait_for(lambda: room.live and "video" in room.codecs(), what="video live")
        assert room.codecs()["video"] == "VP8"
        started = time.monotonic()
        await asyncio.sleep(SECONDS)
        live = time.monotonic() - started
    finally:
        await client.close()
        for track in tracks:
            track.stop()
    await end_session(server, "vp8")
    state = await recording_state(server, "vp8")
    assert state.state == "done"
    assert state.hls == "off"
    assert "H.264 only" in state.hls_reason
    directory, index = recording(server, "vp8")
    [segment] = index.segments
    assert segment.file == "segment-000.webm"
    found = probe(directory / segment.file)
    assert found["kinds"] == {"video": "vp8", "audio": "opus"}
    assert abs(found["duration"] - segment.duration) <= 0.5, (found, segment.duration)
    assert abs(segment.duration - live) <= 1.0, (segment.duration, live)

    await page.goto(f"{base}/s/vp8")
    await page.wait_for_function(
        "() => document.getElementById('replay-video').readyState >= 2", timeout=15_000
    )
    shown = await page.evaluate(
        "() => { const v = document.getElementById('replay-video');"
        " return {duration: v.duration, width: v.videoWidth, src: v.currentSrc}; }"
    )
    assert (shown["width"], shown["src"].endswith(".webm")) == (320, True), shown
    assert abs(shown["duration"] - live) <= 1.0, (shown, live)
    print(f"VP8: live {live:.2f} s, recorded {segment.duration:.2f} s, <video> {shown}")
    assert not page_log.problems(), page_log.problems()


async def test_watch_page_says_there_is_no_hls_for_vp8(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    """WebRTC blocked and a VP8 publisher: no HLS to fall back to, and the page says why."""
    base = base_url(server)
    key = await create_session(server, "vp8-live")
    tracks = [testpattern.TestPatternVideoTrack(320, 180), testpattern.TestPatternAudioTrack()]
    client = WhipClient(f"{base}/whip/vp8-live", key, list(tracks), video_codec="VP8")
    await client.publish()
    room = server.app[ROOMS].get("vp8-live")
    assert room is not None
    try:
        await wait_for(lambda: room.live and "video" in room.codecs(), what="video live")
        await page.route("**/whep/**", lambda route: route.abort())
        await page.goto(f"{base}/s/vp8-live")
        notice = page.locator("#player-hls-notice")
        await notice.wait_for(timeout=20_000)
        assert "VP8" in (await notice.text_content() or "")
        assert await page.get_attribute("#player", "data-transport") is None  # no HLS tried
    finally:
        await client.close()
        for track in tracks:
            track.stop()
    allowed = ["net::ERR_FAILED", "Failed to load resource"]
    assert not page_log.problems(allow=allowed), page_log.problems(allow=allowed)
