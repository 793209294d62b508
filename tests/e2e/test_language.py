"""Swedish by default, English on request, and the choice remembered across pages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page

from tests.conftest import base_url, create_session
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, PageLog, text, wait_for_state
from tests.media import publish_loop


@pytest.fixture
async def browser_english(browser: Browser) -> AsyncIterator[Page]:
    """A page in a profile whose browser prefers English (Accept-Language: en-GB)."""
    context = await browser.new_context(locale="en-GB")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def test_language_switch_is_remembered(
    server: TestServer, context: BrowserContext, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, "sprak", title="Språkdagen")
    publisher, _ = await publish_loop(base, "sprak", key)
    try:
        await page.goto(f"{base}/")
        assert await page.get_attribute("html", "lang") == "sv"
        assert await text(page, "h1") == "Program"
        assert await page.get_attribute(".lang-switch a[hreflang=sv]", "aria-current") == "true"

        await page.click(".lang-switch a[hreflang=en]")
        await page.wait_for_url(f"{base}/?lang=en")
        assert await page.get_attribute("html", "lang") == "en"
        assert await text(page, "h1") == "Programme"
        assert await text(page, ".skip-link") == "Skip to content"
        cookies = {cookie["name"]: cookie["value"] for cookie in await context.cookies()}
        assert cookies.get("lang") == "en"

        # No ?lang= any more: the cookie decides, for the page and for its scripts' strings.
        await page.goto(f"{base}/s/sprak")
        assert await page.get_attribute("html", "lang") == "en"
        catalogue = json.loads(await page.text_content("#i18n") or "{}")
        assert catalogue["watch.status.live"] == "Live"
        await wait_for_state(page, "#player", "live")
        assert await text(page, "#player-status-text") == "Live"
        assert await text(page, ".back-link") == "Back to the programme"

        # Switching on the watch page stays on the watch page.
        await page.click(".lang-switch a[hreflang=sv]")
        await page.wait_for_url(f"{base}/s/sprak?lang=sv")
        assert await page.get_attribute("html", "lang") == "sv"
        await wait_for_state(page, "#player", "live")
        assert await text(page, "#player-status-text") == "Direktsänds"

        await page.goto(f"{base}/studio/sprak")
        assert await page.get_attribute("html", "lang") == "sv"
        assert await text(page, "#studio-go-live") == "Starta sändningen"
    finally:
        await publisher.close()
    assert page_log.problems() == []


async def test_english_browser_gets_english_until_it_chooses(
    server: TestServer, browser_english: Page
) -> None:
    base = base_url(server)
    page = browser_english
    await page.goto(f"{base}/")
    assert await page.get_attribute("html", "lang") == "en"
    await page.click(".lang-switch a[hreflang=sv]")
    await page.goto(f"{base}/")
    assert await page.get_attribute("html", "lang") == "sv"
