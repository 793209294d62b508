"""A publisher that drops and returns: one recording of two segments, one timeline. A question
asked in segment 2 (stamped with its live stream position, as the Q&A service stamps it) sits
on the concatenated timeline at the end of segment 1 plus its position in segment 2: the gap
between the segments shifts nothing. In Chromium its chapter plays segment 2 at that moment."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from stream.http.keys import QA, REDIS, ROOMS
from stream.rooms.presence import read_presence
from tests.archive.helpers import add_chat, ask_question, end_session, recording
from tests.conftest import base_url, create_session
from tests.e2e.conftest import PageLog
from tests.media import publish_loop, wait_for

FIRST = 2.5  # seconds of segment 1
GAP = 1.5  # seconds without a publisher
INTO_SECOND = 1.5  # when the question is asked, into segment 2
SECOND = 3.0  # seconds of segment 2
TOLERANCE = 0.6


async def _publish(
    server: TestServer,
    key: str,
    seconds: float,
    during: Callable[[], Awaitable[None]] | None = None,
) -> None:
    client, _ = await publish_loop(base_url(server), "tvadelar", key)
    room = server.app[ROOMS].get("tvadelar")
    assert room is not None
    try:
        await wait_for(lambda: room.live, what="room live")
        if during is not None:
            await asyncio.sleep(INTO_SECOND)
            await during()
            await asyncio.sleep(seconds - INTO_SECOND)
        else:
            await asyncio.sleep(seconds)
    finally:
        await client.close()
    await wait_for(lambda: room.publisher is None, what="publisher gone")


async def test_a_question_in_segment_two_jumps_to_its_moment(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    key = await create_session(server, "tvadelar", title="Två delar")
    asked_at: list[float] = []
    returned: list[float] = []

    async def ask() -> None:
        # The live record (refreshed every PRESENCE_INTERVAL) names segment 2's start by now.
        for _ in range(50):
            live = await read_presence(server.app[REDIS], "tvadelar")
            if live is not None and live.live_since > returned[0]:
                break
            await asyncio.sleep(0.1)
        pos = await server.app[QA].stream_position("tvadelar", 0)
        assert pos is not None
        asked_at.append(time.time())
        await ask_question(server, "tvadelar", "Fråga i del två", pos)

    await _publish(server, key, FIRST)
    await asyncio.sleep(GAP)
    returned.append(time.time())
    await _publish(server, key, SECOND, ask)
    await add_chat(server, "tvadelar", int(asked_at[0] * 1000), "Bo", "Nu i del två")
    await end_session(server, "tvadelar")
    _, index = recording(server, "tvadelar")
    assert len(index.segments) == 2
    first, second = index.segments
    assert second.started - (first.started + first.duration) >= GAP - TOLERANCE
    expected = first.duration + (asked_at[0] - second.started)
    print(f"segments {first.duration:.2f} + {second.duration:.2f} s, question at {expected:.2f}")

    base = base_url(server)
    async with ClientSession() as http:
        async with http.get(f"{base}/s/tvadelar/replay.json") as response:
            data = await response.json()
        async with http.get(f"{base}/s/tvadelar/chapters.vtt") as response:
            vtt = await response.text()
    [question] = data["questions"]
    assert abs(question["at"] - expected) <= TOLERANCE, (question["at"], expected)
    [message] = data["chat"]
    assert abs(message["at"] - expected) <= TOLERANCE, (message["at"], expected)
    assert [s["offset"] for s in data["segments"]] == [0.0, first.duration]
    cue = vtt.split("\n\n")[1].splitlines()[1]
    start = cue.split(" --> ")[0]
    h, m, s = start.split(":")
    assert abs(int(h) * 3600 + int(m) * 60 + float(s) - question["at"]) < 0.002, cue

    await page.goto(f"{base}/s/tvadelar")
    await page.wait_for_function(
        "() => document.getElementById('replay-video').readyState >= 2", timeout=15_000
    )
    chapter = page.locator("#replay-chapters .replay__jump").first
    await chapter.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_function(
        "(at) => { const v = document.getElementById('replay-video');"
        " return window.streamReplay.current === 1 && !v.seeking && v.readyState >= 2"
        " && Math.abs(window.streamReplay.time - at) < 0.3; }",
        arg=question["at"],
        timeout=15_000,
    )
    local = await page.evaluate("() => document.getElementById('replay-video').currentTime")
    assert abs(local - (question["at"] - first.duration)) < 0.3, local
    assert not page_log.problems(), page_log.problems()
