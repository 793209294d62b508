"""XSS payloads in headless Chromium: rendered as text, no element injected, nothing run.

The viewer's chat is checked on a test-only page that includes just the chat partial (the watch
page is someone else's); the moderator's on ``/moderate/{session}``, which also shows held
messages and the session title rendered by the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import jinja2
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright

from stream.app import create_app
from stream.chat.protocol import clean_text
from stream.config import Settings
from stream.http.keys import REDIS, TEMPLATES
from stream.program.sessions import SessionStore
from tests.chat.client import ChatClient, moderator_token
from tests.chat.xss import NAMES, PAYLOADS
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import base_url, create_session
from tests.e2e.sockets import SocketLog

TIMEOUT_MS = 15_000
SESSION = "xss"
XSS_TITLE = "<img src=x onerror=window.__xss=1> Titel"
HELD_WORD = "gömd"
HELD = "<img src=x onerror=window.__xss=1> gömd"
TEST_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>chat</title>
<link rel="icon" href="data:,"></head>
<body>{% include "partials/chat.html" %}</body></html>
"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")

# Everything inside the chat must be one of these elements and carry no event handler; links
# must be http(s) and open safely. Returns a list of problems (empty: inert).
INSPECT = """(root) => {
  const allowed = new Set(["SECTION", "H2", "P", "DIV", "OL", "LI", "SPAN", "TIME", "A", "FORM",
                           "LABEL", "INPUT", "BUTTON", "SCRIPT", "TEXTAREA", "STRONG"]);
  const problems = [];
  for (const el of root.querySelectorAll("*")) {
    const src = (el.getAttribute("src") || "").split("?")[0];
    const href = (el.getAttribute("href") || "").split("?")[0];
    const ours = (el.tagName === "SCRIPT" && src === "/static/js/chat.js")
      || (el.tagName === "LINK" && href === "/static/css/chat.css");
    if (!allowed.has(el.tagName) && !ours) problems.push("element " + el.tagName);
    if (el.tagName === "SCRIPT" && el.type !== "application/json" && !ours) {
      problems.push("script");
    }
    for (const attr of el.attributes) {
      if (attr.name.startsWith("on")) problems.push("attribute " + attr.name);
      if (attr.name === "style" || attr.name === "srcdoc") problems.push("attribute " + attr.name);
    }
    if (el.tagName === "A") {
      if (!/^https?:\\/\\//.test(el.getAttribute("href") || "")) problems.push("href " + el.href);
      if (!el.rel.includes("noopener")) problems.push("rel " + el.rel);
    }
  }
  for (const tag of ["img", "svg", "iframe", "object", "embed", "video", "math", "marquee",
                     "details", "template", "noscript", "base", "meta[http-equiv]", "style"]) {
    if (root.querySelector(tag)) problems.push("found " + tag);
  }
  if (window.__xss !== undefined) problems.push("window.__xss was set");
  return problems;
}"""


async def chat_only_page(request: web.Request) -> web.Response:
    session = await SessionStore(request.app[REDIS]).get(request.match_info["session"])
    return request.app[TEMPLATES].render(request, "test-chat.html", {"session": session})


@pytest.fixture
async def chat_server(settings: Settings) -> AsyncIterator[TestServer]:
    """The real app plus a test-only page with nothing but the chat partial."""
    app = create_app(settings)
    templates = app[TEMPLATES]
    templates.environment.loader = jinja2.ChoiceLoader(
        [jinja2.DictLoader({"test-chat.html": TEST_PAGE}), templates.environment.loader]  # type: ignore[list-item]
    )
    app.router.add_get("/test-chat/{session}", chat_only_page)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


async def open_page(
    browser: Browser, url: str, init_script: str = ""
) -> tuple[Page, list[str], SocketLog]:
    """The page, a list that collects dialogs, uncaught errors and console errors, and the
    WebSockets it opens."""
    page = await browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    troubles: list[str] = []
    sockets = SocketLog(page)

    async def dismiss(dialog: Any) -> None:
        troubles.append(f"dialog: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", dismiss)
    page.on("pageerror", lambda error: troubles.append(f"error: {error}"))
    page.on(
        "console",
        lambda message: (
            troubles.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    if init_script:
        await page.add_init_script(init_script)
    await page.goto(url)
    return page, troubles, sockets


async def rendered(page: Page, selector: str) -> list[str]:
    texts: list[str] = await page.eval_on_selector_all(
        selector, "(els) => els.map((el) => el.textContent)"
    )
    return texts


async def test_xss_payloads_render_inert_for_viewers_and_moderators(
    chat_server: TestServer, browser: Browser
) -> None:
    await create_session(chat_server, SESSION, title=XSS_TITLE)
    writers = [await ChatClient.connect(chat_server, SESSION, name=name) for name in NAMES]
    half = len(PAYLOADS) // 2
    expected = [clean_text(payload) for payload in PAYLOADS]
    try:
        # Half arrive as history, half live through the fan-out.
        for n, payload in enumerate(PAYLOADS[:half]):
            await writers[n % len(writers)].say(payload)
        viewer, viewer_troubles, viewer_sockets = await open_page(
            browser, f"{base_url(chat_server)}/test-chat/{SESSION}"
        )
        token = await moderator_token(chat_server, SESSION, "<b>Moa</b>")
        moderator, moderator_troubles, moderator_sockets = await open_page(
            browser,
            f"{base_url(chat_server)}/moderate/{SESSION}",
            f"sessionStorage.setItem('stream.chat.moderator.{SESSION}', {token!r});",
        )
        await moderator.wait_for_selector(".chat--moderator")
        for n, payload in enumerate(PAYLOADS[half:]):
            await writers[n % len(writers)].say(payload)
        count = len(PAYLOADS)
        for page in (viewer, moderator):
            await page.wait_for_function(
                f"() => document.querySelectorAll('.chat__message').length >= {count}"
            )
            assert await rendered(page, ".chat__messages .chat__text") == expected
            names = await rendered(page, ".chat__messages .chat__name")
            assert set(names) == set(NAMES)
            assert await page.eval_on_selector(".chat", INSPECT) == []
        # Held for review: only the moderator sees it, in the chat and in the review queue,
        # and the console's log shows the moderator's label as text.
        await moderator.fill("#mod-words", HELD_WORD)
        await moderator.click("[data-mod-words-form] button")
        await moderator.wait_for_selector("[data-mod-log] li")
        assert (await writers[0].send(HELD))["type"] == "held"
        await moderator.wait_for_selector("[data-mod-queue] li")
        assert await rendered(moderator, "[data-mod-queue] .chat__text") == [HELD]
        assert (await rendered(moderator, ".chat__messages .chat__text"))[-1] == HELD
        log = await rendered(moderator, "[data-mod-log] li")
        assert "<b>Moa</b>" in log[0]
        assert await moderator.eval_on_selector("[data-moderate]", INSPECT) == []
        assert await rendered(viewer, ".chat__messages .chat__text") == expected
        links = await viewer.eval_on_selector_all(
            ".chat__link", "(els) => els.map((el) => el.href)"
        )
        assert "https://example.org/" in links
        assert all(link.startswith(("http://", "https://")) for link in links)
        title = await moderator.text_content("h1")
        assert title is not None
        assert "<img src=x onerror=window.__xss=1> Titel" in title
        assert await moderator.evaluate("window.__xss") is None
        assert viewer_troubles == []
        assert moderator_troubles == []
        for sockets in (viewer_sockets, moderator_sockets):
            assert len(sockets.sockets) == 1, "one WebSocket per page"
    finally:
        for writer in writers:
            await writer.close()


async def test_browser_chats_and_a_moderator_removes_a_message(
    chat_server: TestServer, browser: Browser
) -> None:
    await create_session(chat_server, SESSION)
    observer = await ChatClient.connect(chat_server, SESSION)
    try:
        viewer, viewer_troubles, viewer_sockets = await open_page(
            browser, f"{base_url(chat_server)}/test-chat/{SESSION}?lang=en"
        )
        await viewer.fill("[data-chat-name-form] input", "Webbläsare")
        await viewer.click("[data-chat-name-form] button")
        await viewer.fill("[data-chat-compose] input", "Hej från Chromium https://example.org")
        await viewer.press("[data-chat-compose] input", "Enter")
        seen = await observer.event(lambda e: e.get("name") == "Webbläsare")
        assert seen["text"] == "Hej från Chromium https://example.org"
        await viewer.wait_for_selector(f'[data-id="{seen["id"]}"] a[href="https://example.org/"]')
        assert await viewer.input_value("[data-chat-compose] input") == ""

        token = await moderator_token(chat_server, SESSION, "Moa")
        moderator, moderator_troubles, moderator_sockets = await open_page(
            browser, f"{base_url(chat_server)}/moderate/{SESSION}?lang=en"
        )
        await moderator.fill("#mod-token", token)
        await moderator.click("[data-mod-login-form] button")
        await moderator.wait_for_selector("[data-mod-settings]:not([hidden])")
        await moderator.click(f'[data-id="{seen["id"]}"] button[data-action="delete"]')
        await viewer.wait_for_selector(f'[data-id="{seen["id"]}"]', state="detached")
        await observer.event(lambda e: e.get("action") == "delete")
        await moderator.check('[data-mod-switch="enabled"]')
        await moderator.uncheck('[data-mod-switch="enabled"]')
        await viewer.wait_for_function(
            "() => document.querySelector('[data-chat-status]').textContent === 'The chat is off'"
        )
        assert viewer_troubles == []
        assert moderator_troubles == []
        assert len(viewer_sockets.sockets) == 1, "one WebSocket per page"
        # Logging in starts the console's one socket over as a moderator's.
        assert len(moderator_sockets.sockets) == 2
        assert moderator_sockets.open() == moderator_sockets.sockets[1:]
    finally:
        await observer.close()
