"""The replay in headless Chromium: a session published over WHIP (and one over RTMP) plays
back from its recording with the right duration, seeks, and jumps to a question's chapter; the
chat and the questions appear at their moments. And the live watch page's fallback to HLS
when WebRTC cannot connect."""

from __future__ import annotations

import re
import time

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from stream.config import Settings
from stream.http.keys import ROOMS
from tests.archive.helpers import (
    add_chat,
    ask_question,
    end_session,
    publish_for,
    recording,
    recording_state,
)
from tests.conftest import MakeServer, base_url, create_session
from tests.e2e.audience import PHONE, no_horizontal_scroll, screenshot
from tests.e2e.conftest import PageLog, text
from tests.ingest.rtmp.avclient import PublisherProcess
from tests.ingest.rtmp.conftest import free_port, rtmp_url
from tests.media import publish_loop, wait_for

SECONDS = 4.0


@pytest.fixture
async def rtmp_server(make_server: MakeServer, settings: Settings) -> TestServer:
    return await make_server(settings.with_(rtmp_port=free_port()))


VIDEO_STATE = """() => {
  const v = document.getElementById('replay-video');
  return {ready: v.readyState, duration: v.duration, time: v.currentTime,
          width: v.videoWidth, height: v.videoHeight, error: v.error && v.error.code};
}"""


async def _wait_video_ready(page: Page) -> dict[str, float]:
    await page.wait_for_function(
        "() => document.getElementById('replay-video').readyState >= 2", timeout=15_000
    )
    state: dict[str, float] = await page.evaluate(VIDEO_STATE)
    return state


async def _seek_and_wait(page: Page, seconds: float) -> float:
    await page.evaluate(f"() => window.streamReplay.seek({seconds})")
    await page.wait_for_function(
        f"() => {{ const v = document.getElementById('replay-video');"
        f" return !v.seeking && v.readyState >= 2 && Math.abs(v.currentTime - {seconds}) < 0.5; }}",
        timeout=10_000,
    )
    return float(await page.evaluate("() => document.getElementById('replay-video').currentTime"))


async def test_whip_recording_replays_in_chromium(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, "efter", title="Seminariet i efterhand")
    live = await publish_for(server, "efter", key, SECONDS)
    await ask_question(server, "efter", "Vad händer nu?", 2500, answered=True)
    _, index = recording(server, "efter")
    await add_chat(server, "efter", int(index.segments[0].started * 1000) + 1000, "Bo", "Hej!")
    await end_session(server, "efter")
    assert (await recording_state(server, "efter")).state == "done"
    _, index = recording(server, "efter")

    await page.goto(f"{base}/s/efter")
    assert await text(page, "h1") == "Seminariet i efterhand"
    state = await _wait_video_ready(page)
    assert (state["width"], state["height"]) == (320, 180)
    assert abs(state["duration"] - index.duration) <= 1.0, (state, index.duration)
    assert abs(state["duration"] - live) <= 1.0, (state, live)
    print(f"WHIP: live {live:.2f} s, recorded {index.duration:.2f} s, <video> {state['duration']}")

    # Seeking (range requests) lands where asked, with a decodable picture.
    assert abs(await _seek_and_wait(page, 3.0) - 3.0) < 0.5
    # The chat message (1 s in) and the question (2.5 s in) have been shown by now.
    await page.wait_for_selector("#replay-chat li:not([hidden])")
    assert "Hej!" in await text(page, "#replay-chat")
    assert "Besvarad" in await text(page, "#replay-questions")
    await _seek_and_wait(page, 0.2)
    await page.wait_for_selector("#replay-chat li[hidden]", state="attached")

    # A chapter: a keyboard user tabs to it and presses Enter; the video jumps to its moment.
    chapter = page.locator("#replay-chapters .replay__jump").first
    assert "Vad händer nu?" in (await chapter.text_content() or "")
    await chapter.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "() => { const v = document.getElementById('replay-video');"
        " return !v.seeking && Math.abs(v.currentTime - 2.5) < 0.6; }",
        timeout=10_000,
    )
    assert await chapter.get_attribute("aria-current") == "true"
    # The WebVTT chapters track holds the question too.
    cues = await page.evaluate(
        "() => { const t = document.querySelector('track').track; t.mode = 'hidden';"
        " return new Promise((ok) => setTimeout(() =>"
        " ok(t.cues ? [...t.cues].map((c) => [c.startTime, c.text]) : []), 500)); }"
    )
    assert cues == [[2.5, "Vad händer nu?"]]
    # Each chat line says when it was said, on the day's clock (Swedish: 24 hours, zone named).
    await _seek_and_wait(page, 3.0)
    said = await text(page, "#replay-chat li:not([hidden]) .replay__clock")
    assert re.fullmatch(r"\d\d:\d\d CES?T", said), said
    await screenshot(page, "replay-desktop")
    await page.set_viewport_size(PHONE)
    assert await no_horizontal_scroll(page)
    await screenshot(page, "replay-phone")
    assert not page_log.problems(), page_log.problems()


async def test_rtmp_recording_replays_in_chromium(
    rtmp_server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(rtmp_server)
    key = await create_session(rtmp_server, "rtmp-efter")
    publisher = await PublisherProcess(rtmp_url(rtmp_server, key), seconds=SECONDS).start()
    code, _, err = await publisher.wait(30)
    assert code == 0, err
    await end_session(rtmp_server, "rtmp-efter")
    _, index = recording(rtmp_server, "rtmp-efter")
    await page.goto(f"{base}/s/rtmp-efter")
    state = await _wait_video_ready(page)
    assert abs(state["duration"] - SECONDS) <= 1.0, state
    assert abs(state["duration"] - index.duration) <= 1.0, state
    assert abs(await _seek_and_wait(page, 2.0) - 2.0) < 0.5
    print(f"RTMP: recorded {index.duration:.2f} s, <video> {state['duration']:.2f} s")
    assert not page_log.problems(), page_log.problems()


async def test_watch_page_falls_back_to_hls_when_webrtc_cannot_connect(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    """WHEP requests fail (as behind a network that blocks WebRTC): within a few seconds the
    player plays the live HLS instead, says so, and offers WebRTC again."""
    base = base_url(server)
    key = await create_session(server, "reserv")
    publisher, _ = await publish_loop(base, "reserv", key)
    room = server.app[ROOMS].get("reserv")
    assert room is not None
    try:
        await wait_for(lambda: room.live, what="room live")
        await page.route("**/whep/**", lambda route: route.abort())
        started = time.monotonic()
        await page.goto(f"{base}/s/reserv")
        await page.wait_for_selector('#player[data-transport="hls"]', timeout=20_000)
        switched = time.monotonic() - started
        await page.wait_for_function(
            "() => { const v = document.getElementById('player-video');"
            " return v.readyState >= 2 && v.currentTime > 1; }",
            timeout=20_000,
        )
        notice = await text(page, "#player-hls-notice")
        assert "HLS" in notice
        assert await page.is_visible("#player-hls-notice button")
        print(f"HLS fallback after {switched:.1f} s")
        assert switched < 15
        assert room.viewer_count == 0  # no WebRTC viewer got through
    finally:
        await publisher.close()
    assert not page_log.problems(allow=["net::ERR_FAILED", "Failed to load resource"]), (
        page_log.problems(allow=["net::ERR_FAILED", "Failed to load resource"])
    )
