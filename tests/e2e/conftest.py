"""Headless Chromium for page tests: Debian's ``/usr/bin/chromium`` driven by Playwright.

The browser gets a fake camera and microphone, may use loopback ICE candidates, and offers real
addresses (no mDNS names). Every page records its console, its uncaught errors and the URLs it
requested, so tests can insist on a clean console and on traffic to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Request,
    async_playwright,
)

from tests.chromium import CHROMIUM, CHROMIUM_ARGS

DEFAULT_TIMEOUT_MS = 15_000
LOOPBACK_HOSTS = {"127.0.0.1"}

# What Chrome logs for a fetch answered 4xx: expected where a test provokes one (409, 401).
FAILED_RESOURCE = "Failed to load resource: the server responded with a status of {status}"

FRAMES_DECODED = """async () => {
  const pc = window.streamPlayer && window.streamPlayer.pc;
  if (!pc) return 0;
  let frames = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
  });
  return frames;
}"""


@dataclass
class PageLog:
    """What a page said and did: console messages, uncaught errors, requested URLs."""

    console: list[ConsoleMessage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", self._page_error)
        page.on("request", self._request)

    def _console(self, message: ConsoleMessage) -> None:
        self.console.append(message)

    def _page_error(self, error: Error) -> None:
        self.errors.append(str(error))

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def problems(self, allow: Iterable[str] = ()) -> list[str]:
        """Console errors and warnings (CSP violations among them) and uncaught exceptions,
        except messages containing one of ``allow``."""
        allowed = tuple(allow)
        found = [
            f"{message.type}: {message.text}"
            for message in self.console
            if message.type in ("error", "warning")
            and not any(text in message.text for text in allowed)
        ]
        return found + [f"uncaught: {error}" for error in self.errors]

    def foreign_requests(self) -> list[str]:
        """Requests to anything but the loopback test server (data: and blob: are local)."""
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme in ("http", "https", "ws", "wss")
            and urlsplit(url).hostname not in LOOPBACK_HOSTS
        ]


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


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh profile that prefers Swedish, like most of the platform's visitors."""
    context = await browser.new_context(
        locale="sv-SE", viewport={"width": 1280, "height": 860}, service_workers="block"
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


@pytest.fixture
def page_log(page: Page) -> Iterator[PageLog]:
    """The page's console, errors and requests; afterwards, it must have stayed on loopback."""
    log = PageLog()
    log.attach(page)
    yield log
    assert not log.foreign_requests(), f"requests off loopback: {log.foreign_requests()}"


async def frames_decoded(page: Page) -> int:
    """Video frames the watch page's player has decoded (from its RTCPeerConnection stats)."""
    try:
        result = await page.evaluate(FRAMES_DECODED)
    except Error:  # navigating: the page's context went away
        return 0
    return int(result)


async def wait_for_frames(page: Page, minimum: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while (frames := await frames_decoded(page)) < minimum:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the player decoded {frames} frames, wanted {minimum}")
        await asyncio.sleep(0.2)
    return frames


async def text(page: Page, selector: str) -> str:
    """The element's text as written (``inner_text`` would apply CSS text-transform)."""
    return " ".join((await page.text_content(selector) or "").split())


async def wait_for_state(page: Page, selector: str, state: str, timeout: float = 20.0) -> None:
    """Until the element's ``data-state`` is ``state`` (the pages' state machines show it)."""
    await page.wait_for_selector(f'{selector}[data-state="{state}"]', timeout=timeout * 1000)
