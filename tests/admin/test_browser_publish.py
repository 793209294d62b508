"""Headless Chromium, end to end: an arranger logs in, creates a session, copies its key,
publishes with it from the browser studio and sees the session live in /admin and on the
programme page. All traffic stays on 127.0.0.1."""

from __future__ import annotations

import time as clock
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright

from stream.common import times
from stream.http.keys import ROOMS
from stream.ingest.whip_client import WhipClient
from tests.auth.staff import PASSWORD
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import base_url
from tests.media import publish_loop, wait_for

TIMEOUT_MS = 20_000
LIVE_TIMEOUT = 40.0


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


def slot_around_now(now: datetime) -> tuple[str, str, str]:
    """Date, start and end (Stockholm) of a half-hour slot whose key works right now,
    kept within one day."""
    local = times.local(now).replace(second=0, microsecond=0, tzinfo=None)
    if local.time() < time(0, 10):
        start = local.replace(hour=0, minute=0)
    elif local.time() > time(23, 20):
        start = local.replace(hour=23, minute=20)
    else:
        start = local - timedelta(minutes=5)
    end = min(start + timedelta(minutes=30), start.replace(hour=23, minute=59))
    return start.date().isoformat(), start.strftime("%H:%M"), end.strftime("%H:%M")


async def live_status(base: str, session_id: str) -> dict[str, object]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/sessions/{session_id}/status") as response:
            body: dict[str, object] = await response.json()
            return body


async def publish(page: Page, base: str, session_id: str, key: str) -> WhipClient | None:
    """From the studio page when it offers a key field, else with the aiortc WHIP client
    (returned, to be closed by the caller)."""
    await page.goto(f"{base}/studio/{session_id}")
    if await page.locator("#studio-key").count() == 0:
        client, _ = await publish_loop(base, session_id, key)
        return client
    await page.fill("#studio-key", key)
    if await page.locator("#studio-resolution").count():
        await page.select_option("#studio-resolution", "360")
    await page.click("#studio-go-live")
    await page.wait_for_selector('#studio[data-state="live"]', timeout=LIVE_TIMEOUT * 1000)
    return None


async def test_an_arranger_goes_live_with_a_new_session(
    world: TestServer, browser: Browser
) -> None:
    base = base_url(world)
    context = await browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = await context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    fallback: WhipClient | None = None
    try:
        # Log in as arranger staff of Skogstekniska klustret.
        await page.goto(f"{base}/admin")
        assert urlsplit(page.url).path == "/login"
        await page.get_by_label("Användarnamn").fill("anna")
        await page.get_by_label("Lösenord").fill(PASSWORD)
        await page.get_by_role("button", name="Logga in").click()
        await page.wait_for_url(f"{base}/admin")

        # Create a session in a slot around now, booked into the campus studio.
        await page.get_by_role("link", name="Ny session").first.click()
        await page.wait_for_url(f"{base}/admin/sessions/new")
        day, start, end = slot_around_now(times.now())
        await page.get_by_label("Titel").fill("Direkt från campus")
        await page.get_by_label("Talare").fill("Moderator\nForskare")
        await page.select_option("#f-studio", "studio-1")
        await page.fill("#f-date", day)
        await page.fill("#f-start", start)
        await page.fill("#f-end", end)
        await page.get_by_role("button", name="Skapa sessionen").click()
        await page.wait_for_selector("#publish-key")
        shown = await page.input_value("#publish-key")
        assert len(shown) >= 30

        # Copy it with the page's button, as the arranger would.
        await page.get_by_role("button", name="Kopiera").click()
        await page.wait_for_function(
            "() => document.querySelector('[data-copy-status]').textContent.length > 0"
        )
        key = await page.evaluate("navigator.clipboard.readText()")
        assert key == shown

        # Publish with it from the browser studio.
        fallback = await publish(page, base, "direkt-fran-campus", key)
        rooms = world.app[ROOMS]
        await wait_for(
            lambda: (room := rooms.get("direkt-fran-campus")) is not None and room.live,
            timeout=LIVE_TIMEOUT,
            what="the session going live",
        )
        assert (await live_status(base, "direkt-fran-campus"))["live"] is True

        # The arranger's overview says so, in a second tab.
        overview = await context.new_page()
        overview.on("request", lambda request: requests.append(request.url))
        await overview.goto(f"{base}/admin")
        row = overview.locator('tr[data-session="direkt-fran-campus"]')
        await row.locator('[data-state="live"]').wait_for()
        assert await row.locator('[data-field="publishing"]').inner_text() == "Ja"

        # And the public programme shows it live.
        await overview.goto(f"{base}/")
        card = overview.locator('[data-session="direkt-fran-campus"]').first
        deadline = clock.monotonic() + LIVE_TIMEOUT
        while await card.get_attribute("data-live") != "true":
            assert clock.monotonic() < deadline, "the programme never showed the session live"
            await overview.wait_for_timeout(250)
    finally:
        if fallback is not None:
            await fallback.close()
        await context.close()
    assert errors == []
    foreign = [
        url
        for url in requests
        if urlsplit(url).scheme in ("http", "https", "ws", "wss")
        and urlsplit(url).hostname != "127.0.0.1"
    ]
    assert foreign == [], "traffic only to 127.0.0.1"
    assert not [u for u in requests if key in u], "the key never travels in a URL"
