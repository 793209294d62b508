"""One time format per language, in the event's zone with the zone named: Swedish pages use the
24-hour clock, English pages the browser's own clock (a US browser in New York here, so a time
shown in the browser's zone would be caught). Server-rendered times and the scripts' alike."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date, datetime, time

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, expect

from stream.common import times
from stream.http.keys import REDIS
from stream.program.sessions import Session, SessionStore
from tests.chat.client import ChatClient, moderator_token
from tests.conftest import base_url
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS
from tests.qa.client import QAClient

SESSION = "klockan"
DAY = date(2031, 1, 21)  # winter: CET
ZONE = r"CES?T"  # a message's time is now: summer or winter
SV_CLOCK = re.compile(rf"^\d\d:\d\d {ZONE}$")
EN_CLOCK = re.compile(rf"^\d{{1,2}}:\d\d\s?[AP]M {ZONE}$")


async def _browser(browser: Browser, locale: str) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(
        locale=locale, timezone_id="America/New_York", viewport={"width": 1280, "height": 860}
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def swedish(browser: Browser) -> AsyncIterator[BrowserContext]:
    async for context in _browser(browser, "sv-SE"):
        yield context


@pytest.fixture
async def american(browser: Browser) -> AsyncIterator[BrowserContext]:
    async for context in _browser(browser, "en-US"):
        yield context


@pytest.fixture
async def session(server: TestServer) -> str:
    store = SessionStore(server.app[REDIS])
    await store.save(
        Session(
            id=SESSION,
            title="Klockan",
            arranger="Tidsbyrån",
            start=times.at_local(DAY, time(14, 5)),
            end=times.at_local(DAY, time(15, 30)),
        )
    )
    return SESSION


def stockholm_clock(millis: int) -> str:
    return times.format_clock(datetime.fromtimestamp(millis / 1000, times.TIMEZONE))


async def _chat_and_question(server: TestServer) -> tuple[dict[str, object], str]:
    """A chat message and an approved question; the message's event and the question's text."""
    guest = await ChatClient.connect(server, SESSION, name="Gästen")
    mod = await QAClient.join(
        server, SESSION, moderator_token=await moderator_token(server, SESSION), name="Moa"
    )
    try:
        await mod.qa_mod("premod", on=False)
        message_id = await guest.say("Vad är klockan?")
        event = await guest.event(lambda e: e.get("id") == message_id)
        asker = await QAClient.join(server, SESSION, name="Ada")
        try:
            assert (await asker.ask("När börjar nästa pass?"))["type"] == "qa.ack"
        finally:
            await asker.close()
        return event, "När börjar nästa pass?"
    finally:
        await guest.close()
        await mod.close()


async def test_swedish_pages_use_the_24_hour_clock_in_the_events_zone(
    server: TestServer, session: str, swedish: BrowserContext
) -> None:
    base = base_url(server)
    event, _ = await _chat_and_question(server)
    page = await swedish.new_page()
    await page.goto(f"{base}/s/{session}?lang=sv")
    when = page.locator(".watch-meta time, time[data-clock-style=day]").first
    await expect(when).to_have_text("tisdag 21 januari 2031 14:05\u201315:30")
    await expect(page.locator("abbr.zone").first).to_have_text("CET")
    stamp = page.locator(f'.chat__messages [data-id="{event["id"]}"] .chat__time')
    await expect(stamp).to_have_text(SV_CLOCK)
    assert (await stamp.text_content() or "").startswith(stockholm_clock(int(event["ts"])))
    asked = page.locator(".qa__list .qa__time").first
    await expect(asked).to_have_text(SV_CLOCK)

    await page.goto(f"{base}/?lang=sv")
    card = page.locator(f'[data-session="{session}"] .session-card__time').first
    await expect(card).to_contain_text("14:05\u201315:30 CET")


async def test_english_pages_use_the_browsers_clock_in_the_events_zone(
    server: TestServer, session: str, american: BrowserContext
) -> None:
    base = base_url(server)
    event, _ = await _chat_and_question(server)
    page = await american.new_page()
    await page.goto(f"{base}/s/{session}?lang=en")
    when = page.locator("time[data-clock-style=day]").first
    await expect(when).to_contain_text("2:05")  # 14:05 in Stockholm, not 8:05 in New York
    await expect(when).to_contain_text("PM")
    assert "14:05" not in (await when.text_content() or "")
    await expect(page.locator("abbr.zone").first).to_have_text("CET")
    stamp = page.locator(f'.chat__messages [data-id="{event["id"]}"] .chat__time')
    await expect(stamp).to_have_text(EN_CLOCK)
    hour, minute = stockholm_clock(int(event["ts"])).split(":")
    shown = await stamp.text_content() or ""
    assert shown.startswith(f"{int(hour) % 12 or 12}:{minute}"), shown
    await expect(page.locator(".qa__list .qa__time").first).to_have_text(EN_CLOCK)

    await page.goto(f"{base}/?lang=en")
    card = page.locator(f'[data-session="{session}"] .session-card__time').first
    await expect(card).to_contain_text("2:05")
    await expect(card).to_contain_text("CET")
    assert "14:05" not in (await card.text_content() or "")
