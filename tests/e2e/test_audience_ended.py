"""An ended session looks ended: the watch page says so instead of waiting for a broadcast,
chat and questions are read-only (answered questions stay visible), and the Q&A service
refuses new questions and votes after the end and its grace."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from stream.common import times
from stream.http.keys import REDIS
from stream.program.schedule import AUDIENCE_GRACE_AFTER_END as QA_GRACE_AFTER_END
from stream.program.sessions import Session, SessionStore
from tests.chat.client import moderator_token
from tests.conftest import base_url
from tests.e2e.audience import PHONE, no_horizontal_scroll, screenshot
from tests.e2e.conftest import PageLog, text
from tests.qa.client import QAClient

SESSION = "avslutad"
ANSWERED = "Hur går det med bredbandet i inlandet?"
OPEN = "När kommer nästa seminarium?"


async def _session_with_questions(server: TestServer) -> str:
    """A session with one answered and one approved question, then moved into the past."""
    store = SessionStore(server.app[REDIS])
    now = times.now()
    session = Session(
        id=SESSION,
        title="Bredband i Västerbotten",
        arranger="Region Västerbotten",
        start=now - timedelta(minutes=30),
        end=now + timedelta(minutes=30),
    )
    await store.save(session)
    mod = await QAClient.join(
        server, SESSION, moderator_token=await moderator_token(server, SESSION), name="Moa"
    )
    viewer = await QAClient.join(server, SESSION, name="Ada")
    try:
        answered = (await viewer.ask(ANSWERED))["q"]
        still_open = (await viewer.ask(OPEN))["q"]
        for qid in (answered, still_open):
            assert (await mod.qa_mod("approve", q=qid, v=1))["type"] == "qa.ack"
        reply = await mod.qa_mod("answer", q=answered, v=2)
        assert reply["type"] == "qa.ack", reply
    finally:
        await viewer.close()
        await mod.close()
    past = now - QA_GRACE_AFTER_END - timedelta(hours=1)
    await store.save(
        Session(
            id=SESSION,
            title=session.title,
            arranger=session.arranger,
            start=past - timedelta(hours=1),
            end=past,
        )
    )
    return still_open


async def test_an_ended_session_reads_as_ended_and_read_only(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    still_open = await _session_with_questions(server)
    base = base_url(server)
    await page.goto(f"{base}/s/{SESSION}")
    assert await text(page, "#session-ended-title") == "Sessionen är avslutad"
    assert await page.get_attribute("[data-schedule-state]", "data-schedule-state") == "ended"
    assert await page.locator("#player").count() == 0, "no player waiting for a broadcast"
    assert "ingen inspelning" in await text(page, "#session-ended")
    assert await page.is_visible("[data-read-only]")

    # Questions: read-only, the answered one visible and marked, nothing to press.
    await page.wait_for_selector(f'[data-qa-list] .qa__text:text-is("{ANSWERED}")')
    item = page.locator("[data-qa-list] .qa__item", has_text=ANSWERED)
    assert "Besvarad" in (await item.text_content() or "")
    assert await page.locator("[data-qa-list] .qa__text", has_text=OPEN).count() == 1
    assert await page.locator("[data-qa-ask]").count() == 0
    assert await page.locator("[data-qa-list] button[data-vote]").count() == 0
    assert await text(page, "[data-qa-closed]") == (
        "Frågestunden är avslutad. Frågorna och svaren finns kvar att läsa."
    )
    # Chat: the log stays, the forms to write are not shown.
    assert not await page.is_visible("[data-chat-compose]")
    assert not await page.is_visible("[data-chat-name-form]")
    await screenshot(page, "watch-ended-desktop")

    await page.set_viewport_size(PHONE)
    await page.goto(f"{base}/s/{SESSION}")
    assert await no_horizontal_scroll(page)
    await screenshot(page, "watch-ended-phone")
    await page.goto(f"{base}/q/{SESSION}")
    await page.wait_for_selector("[data-qa-closed]")
    assert await page.locator("[data-qa-ask]").count() == 0
    assert await no_horizontal_scroll(page)
    assert page_log.problems() == []

    # The service refuses what the page no longer offers.
    late = await QAClient.join(server, SESSION, name="Sen")
    try:
        asked = await late.ask("Hann jag?")
        assert (asked["type"], asked["code"]) == ("qa.error", "ended"), asked
        assert asked["detail"] == "the session has ended: questions and votes are closed"
        voted = await late.vote(still_open)
        assert (voted["type"], voted["code"]) == ("qa.error", "ended"), voted
    finally:
        await late.close()


async def test_questions_stay_open_during_the_grace_after_the_end(server: TestServer) -> None:
    now = times.now()
    await SessionStore(server.app[REDIS]).save(
        Session(
            id="nyss",
            title="Nyss slut",
            start=now - timedelta(hours=1),
            end=now - QA_GRACE_AFTER_END / 2,
        )
    )
    viewer = await QAClient.join(server, "nyss", name="Ada")
    try:
        asked = await viewer.ask("En sista fråga?")
        assert asked["type"] == "qa.ack", asked
    finally:
        await viewer.close()
