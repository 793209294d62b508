"""The browser studio publishing over WHIP, checked by an aiortc WHEP viewer."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from stream.http.keys import ROOMS
from tests.conftest import base_url, create_session
from tests.e2e.conftest import FAILED_RESOURCE, PageLog, text, wait_for_state
from tests.media import publish_loop, wait_for, watch


async def test_studio_goes_live_and_a_viewer_receives_video(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, "studio", title="Seminarium om vård")
    await page.goto(f"{base}/studio/studio")
    assert await page.get_attribute("#studio-key", "type") == "password"
    await page.fill("#studio-key", key)
    await page.select_option("#studio-resolution", "360")
    await page.click("#studio-go-live")

    await wait_for_state(page, "#studio", "live", timeout=30)
    assert await text(page, "#studio-state-label") == "Du sänder live"
    room = server.app[ROOMS].get("studio")
    assert room is not None
    await wait_for(lambda: "video" in room.codecs(), what="video arriving")
    assert room.codecs() == {"video": "H264", "audio": "opus"}, "the studio prefers H.264"

    viewer, received = await watch(base, "studio")
    try:
        await wait_for(lambda: len(received.frames["video"]) >= 15, 20, what="15 video frames")
    finally:
        await viewer.close()

    # Once a second the studio shows its outgoing bitrate and the connection's state.
    await page.wait_for_function(
        "() => /kbit\\/s|Mbit\\/s/.test(document.querySelector('#stat-bitrate').textContent)"
    )
    assert await text(page, "#stat-connection") == "Ansluten"
    assert (await text(page, "#stat-elapsed")).startswith("00:00:")
    assert await page.is_visible("#studio-onair")
    # Cameras and microphones are listed once permission is given.
    assert await page.locator("#studio-camera option").count() >= 1
    assert await page.is_enabled("#studio-microphone")

    await page.click("#studio-stop")
    await wait_for_state(page, "#studio", "idle")
    await wait_for(lambda: room.publisher is None, what="publisher gone after Stop")
    assert await page.is_enabled("#studio-go-live")

    # The key travelled in the Authorization header only.
    assert not [url for url in page_log.requests if key in url]
    assert key not in page.url
    assert page_log.problems() == []


async def test_studio_wrong_key_is_explained(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    await create_session(server, "studio")
    await page.goto(f"{base}/studio/studio")
    await page.fill("#studio-key", "not-the-key")
    await page.click("#studio-go-live")

    await wait_for_state(page, "#studio", "error", timeout=30)
    assert await page.is_visible("#studio-error")
    message = await text(page, "#studio-error-message")
    assert message.startswith("Publiceringsnyckeln godtogs inte.")
    detail = await text(page, "#studio-error-detail")
    assert detail == "Serverns svar: the publish key is not valid for this session"
    assert await page.is_enabled("#studio-go-live"), "the arranger can correct the key and retry"
    room = server.app[ROOMS].get("studio")
    assert room is None or room.publisher is None
    assert page_log.problems(allow=[FAILED_RESOURCE.format(status=401)]) == []


async def test_studio_explains_that_someone_else_is_live(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, "studio")
    publisher, _ = await publish_loop(base, "studio", key)
    try:
        await page.goto(f"{base}/studio/studio")
        await page.fill("#studio-key", key)
        await page.click("#studio-go-live")
        await wait_for_state(page, "#studio", "error", timeout=30)
        assert (await text(page, "#studio-error-message")).startswith(
            "Någon annan sänder redan i den här sessionen."
        )
        assert "already has a live publisher" in await text(page, "#studio-error-detail")
    finally:
        await publisher.close()
    assert page_log.problems(allow=[FAILED_RESOURCE.format(status=409)]) == []


async def test_studio_asks_for_the_key_and_remembers_it_only_when_told(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    await create_session(server, "studio")
    await page.goto(f"{base}/studio/studio")

    await page.click("#studio-go-live")
    assert await page.is_visible("#studio-key-error")
    assert await page.get_attribute("#studio-key", "aria-invalid") == "true"
    assert await page.evaluate("() => document.activeElement.id") == "studio-key"
    assert not [url for url in page_log.requests if "/whip/" in url], "nothing sent without a key"

    await page.fill("#studio-key", "typed-but-not-remembered")
    await page.reload()
    assert await page.input_value("#studio-key") == ""

    await page.fill("#studio-key", "remember-me-key")
    await page.check("#studio-remember")
    await page.reload()
    assert await page.input_value("#studio-key") == "remember-me-key"
    assert await page.is_checked("#studio-remember")
    await page.uncheck("#studio-remember")
    await page.reload()
    assert await page.input_value("#studio-key") == ""
    assert page_log.problems() == []
