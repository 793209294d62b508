"""The watch page on a node where the session is not live: it plays from the node's mirror of
the origin's room, in headless Chromium, and counts the viewer on both nodes."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from stream.http.keys import EDGES, ROOMS
from tests.conftest import base_url, create_session, live_on
from tests.e2e.conftest import PageLog, text, wait_for_frames, wait_for_state
from tests.media import publish_loop, wait_for


async def test_watch_page_plays_from_an_edge(
    nodes: tuple[TestServer, TestServer], page: Page, page_log: PageLog
) -> None:
    origin, edge = nodes
    key = await create_session(origin, "kant", title="Skogsklustret sänder")
    publisher, _ = await publish_loop(base_url(origin), "kant", key)
    room = origin.app[ROOMS].get("kant")
    assert room is not None
    try:
        await wait_for(lambda: room.live, what="room live")
        await live_on(edge, "kant")  # the origin's presence record has reached the edge
        await page.goto(f"{base_url(edge)}/s/kant")
        await wait_for_state(page, "#player", "live", timeout=20)
        await wait_for_frames(page, 10)
        size = await page.evaluate(
            "() => { const v = document.querySelector('video'); return [v.videoWidth, v.paused]; }"
        )
        assert size == [320, False]
        mirror = edge.app[EDGES].get("kant")
        assert mirror is not None
        assert mirror.viewer_count == 1
        assert room.viewer_count == 0
        assert room.relays == 1
        # The edge reports its viewer; the origin's presence carries it to every node's pages.
        await page.wait_for_function(
            "() => document.querySelector('#player-viewers-text')?.textContent === '1 tittare'",
            timeout=20_000,
        )
        assert await text(page, "#player-viewers-text") == "1 tittare"
        # Leaving the page DELETEs the WHEP resource on the edge.
        await page.goto(f"{base_url(edge)}/")
        await wait_for(lambda: mirror.viewer_count == 0, what="the edge's viewer gone")
    finally:
        await publisher.close()
    assert page_log.problems() == []
