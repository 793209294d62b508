"""Headless Chromium, end to end: ask from the phone page, approve (and put on stage) in the
moderator console with keyboard shortcuts, see it on the stage screen and the phone page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, async_playwright

from tests.chat.client import moderator_token
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import base_url, create_session
from tests.e2e.sockets import SocketLog
from tests.qa.client import QAClient

TIMEOUT_MS = 15_000
SESSION = "qa-browser"
QUESTION = "Hur <b>skalar</b> ni till tusen tittare?"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")


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
    """The page, a list collecting uncaught errors and console errors (CSP violations), and
    the WebSockets it opens."""
    page = await browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    troubles: list[str] = []
    sockets = SocketLog(page)

    def console(message: Any) -> None:
        if message.type == "error":
            troubles.append(f"console: {message.text}")

    page.on("pageerror", lambda error: troubles.append(f"error: {error}"))
    page.on("console", console)
    if init_script:
        await page.add_init_script(init_script)
    await page.goto(url)
    return page, troubles, sockets


async def test_ask_on_phone_approve_in_console_see_on_stage(
    server: TestServer, browser: Browser
) -> None:
    await create_session(server, SESSION)
    token = await moderator_token(server, SESSION, "Moa")
    base = base_url(server)
    stage, stage_troubles, stage_sockets = await open_page(browser, f"{base}/stage/{SESSION}")
    phone, phone_troubles, phone_sockets = await open_page(browser, f"{base}/q/{SESSION}")
    # The phone: a name, a question, sent; it waits for review (pre-moderation is on).
    await phone.wait_for_selector("[data-qa-status]", state="hidden")
    await phone.fill("[data-qa-ask] input[name=name]", "Ada")
    await phone.fill("[data-qa-ask] textarea[name=text]", QUESTION)
    await phone.click("[data-qa-ask] button[type=submit]")
    await phone.wait_for_selector("[data-qa-mine] .qa__text")
    assert await phone.text_content("[data-qa-mine] .qa__text") == QUESTION
    # The console: log in on the chat tab, switch to Q&A, approve and stage by keyboard.
    console, console_troubles, console_sockets = await open_page(
        browser, f"{base}/moderate/{SESSION}"
    )
    await console_sockets.welcomed()
    await console.fill("#mod-token", token)
    await console.click("[data-mod-login-form] button")
    await console.wait_for_selector(".chat--moderator")
    # Logging in starts the page's one socket over as a moderator's (chat and Q&A alike).
    moderator = await console_sockets.welcomed(1)
    assert moderator.said("hello")["moderator_token"] == token  # type: ignore[index]
    assert console_sockets.sockets[0].said("hello") == {"type": "hello"}
    await console.click("#tab-qa")
    item = '[data-qa-mod-list="pending"] [data-id]'
    await console.wait_for_selector(item)
    assert QUESTION in (await console.text_content(item) or "")
    assert "Ada" in (await console.text_content(item) or "")
    await console.focus(item)
    await console.keyboard.press("a")
    approved = '[data-qa-mod-list="approved"] [data-id]'
    await console.wait_for_selector(approved)
    await console.focus(approved)
    await console.keyboard.press("s")
    await console.wait_for_selector(".moderate-qa__item--stage")
    # The stage screen shows it in large type, rendered as text.
    await stage.wait_for_function(
        "(text) => document.querySelector('[data-stage-text]').textContent === text", arg=QUESTION
    )
    assert await stage.query_selector("[data-stage-text] b") is None
    assert "Ada" in (await stage.text_content("[data-stage-meta]") or "")
    # The phone sees it approved and on stage, and can upvote it once.
    await phone.wait_for_selector("[data-qa-list] button[data-vote]")
    await phone.wait_for_selector("[data-qa-stage]:not([hidden])")
    await phone.click("[data-qa-list] button[data-vote]")
    await phone.wait_for_selector('[data-qa-list] button[data-vote][aria-pressed="true"]')
    await stage.wait_for_function(
        "() => document.querySelector('[data-stage-meta]').textContent.includes('1')"
    )
    for troubles in (stage_troubles, phone_troubles, console_troubles):
        assert troubles == []
    # Every page did all of it over one WebSocket (the console: one at a time).
    for sockets in (stage_sockets, phone_sockets):
        assert len(sockets.sockets) == 1
        assert sockets.open() == sockets.sockets
    assert len(console_sockets.sockets) == 2
    assert console_sockets.open() == console_sockets.sockets[1:]


async def test_anonymous_viewer_is_the_same_person_after_a_reload(
    server: TestServer, browser: Browser
) -> None:
    """Without choosing a name: the page keeps the identity of its first connection, so a
    reload shows the vote as its own and voting again counts nothing."""
    await create_session(server, SESSION)
    token = await moderator_token(server, SESSION, "Moa")
    mod = await QAClient.join(server, SESSION, moderator_token=token, name="Moa")
    try:
        assert (await mod.qa_mod("premod", on=False))["type"] == "qa.ack"
        qid = (await mod.ask("Vilken tid börjar nästa pass?"))["q"]
        phone, troubles, sockets = await open_page(browser, f"{base_url(server)}/q/{SESSION}")
        button = f'[data-qa-list] button[data-vote="{qid}"]'
        await phone.click(f'{button}[aria-pressed="false"]')
        await phone.wait_for_selector(f'{button}[aria-pressed="true"]')
        await mod.until(lambda: mod.question(qid).get("votes") == 1)
        await phone.reload()
        again = await sockets.welcomed(1)
        await phone.wait_for_selector(f'{button}[aria-pressed="true"]')
        assert sockets.sockets[0].said("hello") == {"type": "hello"}
        assert "token" in (again.said("hello") or {})
        assert troubles == []
    finally:
        await mod.close()
    assert mod.question(qid)["votes"] == 1
