"""The watch page in headless Chromium against the real server and an aiortc publisher."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from stream.http.keys import PEERS, ROOMS
from tests.conftest import base_url, create_session
from tests.e2e.conftest import (
    FAILED_RESOURCE,
    PageLog,
    frames_decoded,
    text,
    wait_for_frames,
    wait_for_state,
)
from tests.media import publish_loop, wait_for


async def test_watch_page_plays_a_live_session(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, "live", title="Digitala seminariet")
    publisher, _ = await publish_loop(base, "live", key)
    room = server.app[ROOMS].get("live")
    assert room is not None
    try:
        await wait_for(lambda: room.live, what="room live")
        await page.goto(f"{base}/s/live")
        assert await page.title() == "Digitala seminariet · Stream"
        assert await text(page, "h1") == "Digitala seminariet"
        assert "Testarrangör" in await text(page, ".session-head")

        await wait_for_frames(page, 10)
        await wait_for_state(page, "#player", "live")
        assert await text(page, "#player-status-text") == "Direktsänds"
        video = await page.evaluate(
            "() => { const v = document.querySelector('video');"
            " return [v.videoWidth, v.videoHeight, v.muted, v.paused]; }"
        )
        assert video == [320, 180, True, False], "autoplays muted at the published size"
        assert await page.is_visible("#player-unmute"), "muted autoplay offers an obvious unmute"
        # The viewer count comes from the status endpoint as soon as the player is live.
        await page.wait_for_selector("#player-viewers:not([hidden])")
        assert await text(page, "#player-viewers-text") == "1 tittare"
        assert room.viewer_count == 1
        # The player tells how far behind live it is (questions are stamped with it).
        await page.wait_for_selector("video[data-live-delay-ms]")
        delay = int(await page.get_attribute("video", "data-live-delay-ms") or "-1")
        assert 0 <= delay < 2000, "sub-second delay on loopback"

        # Leaving the page DELETEs the WHEP resource (fetch keepalive on pagehide).
        await page.goto(f"{base}/")
        await wait_for(lambda: room.viewer_count == 0, what="viewer gone after leaving")
    finally:
        await publisher.close()
    assert page_log.problems() == []


async def test_watch_page_waits_for_the_start_and_notices_the_end(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, "later")
    await page.goto(f"{base}/s/later")
    await wait_for_state(page, "#player", "waiting")
    assert await text(page, "#player-status-text") == "Har inte börjat än"
    assert "av sig själv" in await text(page, "#player-message-detail")

    publisher, _ = await publish_loop(base, "later", key)
    try:
        # The 409's Retry-After (2 s) and the status poll bring the player in by itself.
        await wait_for_state(page, "#player", "live", timeout=20)
        await wait_for_frames(page, 10)
    finally:
        await publisher.close()

    # Frames stop and the status endpoint says not live: the broadcast has ended.
    await wait_for_state(page, "#player", "ended", timeout=20)
    assert await text(page, "#player-status-text") == "Sändningen har avslutats"
    assert await page.is_hidden("#player-unmute")
    assert page_log.problems(allow=[FAILED_RESOURCE.format(status=409)]) == []


async def test_watch_page_reconnects_when_the_publisher_comes_back(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, "again")
    first, _ = await publish_loop(base, "again", key)
    try:
        await page.goto(f"{base}/s/again")
        await wait_for_state(page, "#player", "live")
        await wait_for_frames(page, 5)
    finally:
        await first.close()
    await wait_for_state(page, "#player", "ended", timeout=20)

    second, _ = await publish_loop(base, "again", key)
    try:
        await wait_for_state(page, "#player", "live", timeout=20)
        before = await frames_decoded(page)
        await wait_for_frames(page, before + 10)
    finally:
        await second.close()
    assert page_log.problems(allow=[FAILED_RESOURCE.format(status=409)]) == []


async def test_unknown_session_gets_the_404_page(server: TestServer, page: Page) -> None:
    base = base_url(server)
    for path in ("/s/no-such-session", "/studio/no-such-session", "/s/Not_Valid"):
        response = await page.goto(f"{base}{path}")
        assert response is not None
        assert response.status == 404
        assert await text(page, "h1") == "Sidan hittades inte"
        assert await page.get_attribute("html", "lang") == "sv"


async def test_watch_page_recovers_when_the_server_drops_it(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, "drop")
    publisher, _ = await publish_loop(base, "drop", key)
    room = server.app[ROOMS].get("drop")
    assert room is not None
    try:
        await wait_for(lambda: room.live, what="room live")
        await page.goto(f"{base}/s/drop")
        await wait_for_state(page, "#player", "live")
        first = await page.evaluate("() => window.streamPlayer.resource")
        await wait_for(lambda: room.viewer_count == 1, what="one viewer")

        # The server ends the viewer's peer (as on a node restart): the player notices by
        # itself (connection state or frames stopping) and comes back with a new resource.
        for subscriber_id in list(room.subscribers):
            peer = server.app[PEERS].get(subscriber_id)
            assert peer is not None
            await peer.close("test drops the viewer")
        await page.wait_for_function(
            "(first) => window.streamPlayer.resource && window.streamPlayer.resource !== first",
            arg=first,
            timeout=30_000,
        )
        await wait_for_state(page, "#player", "live")
        await wait_for_frames(page, 10)
        await wait_for(lambda: room.viewer_count == 1, what="exactly one viewer again")
    finally:
        await publisher.close()
    # The player DELETEs the resource it lost, which the server has already forgotten: 404.
    assert page_log.problems(allow=[FAILED_RESOURCE.format(status=404)]) == []
