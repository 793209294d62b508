"""Transparent moderation in Chromium: the watch page and the phone Q&A page show how many
questions wait, were merged or declined, and how many chat messages were removed, live, on the
page's one socket; never the text of what was held back or removed, never its author."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from tests.chat.client import moderator_token
from tests.conftest import base_url, create_session
from tests.e2e.audience import PHONE, no_horizontal_scroll
from tests.e2e.conftest import FAILED_RESOURCE, PageLog
from tests.e2e.sockets import SocketLog
from tests.qa.client import QAClient

SESSION = "oppen"
HIDDEN_QUESTION = "Rejected question text?"
REMOVED_LINE = "a removed chat line"


async def test_counts_are_shown_live_and_never_the_text(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    await create_session(server, SESSION)
    mod = await QAClient.join(
        server, SESSION, moderator_token=await moderator_token(server, SESSION), name="Moa"
    )
    asker = await QAClient.join(server, SESSION, name="Secret Asker")
    sockets = SocketLog(page)
    try:
        await page.goto(f"{base}/s/{SESSION}?lang=en")
        box = page.locator("[data-moderation-counts]")
        await expect(box).to_be_visible()
        await expect(box.locator("h2")).to_have_text("Moderation")
        await expect(box.locator('[data-count="pending"]')).to_have_text("0")

        rejected = (await asker.ask(HIDDEN_QUESTION))["q"]
        kept = (await asker.ask("A question that waits?"))["q"]
        await expect(box.locator('[data-count="pending"]')).to_have_text("2")
        assert (await mod.qa_mod("reject", q=rejected, v=1))["type"] == "qa.ack"
        line = await asker.say(REMOVED_LINE)
        await expect(page.locator(f'[data-id="{line}"]')).to_be_visible()
        assert (await mod.mod("delete", target=line))["type"] == "ack"
        await expect(box.locator('[data-count="pending"]')).to_have_text("1")
        await expect(box.locator('[data-count="declined"]')).to_have_text("1")
        await expect(box.locator('[data-count="removed"]')).to_have_text("1")
        await expect(box.locator('[data-count="merged"]')).to_have_text("0")
        shown = await page.locator("body").inner_text()
        for secret in (HIDDEN_QUESTION, REMOVED_LINE, "Secret Asker"):
            assert secret not in shown
        assert kept
        assert len(sockets.sockets) == 1, "the counts ride the page's one socket"
        assert sockets.sockets[0].got("moderation", pending=1, declined=1, removed=1)

        # The phone page, in Swedish, on a phone: the same counts.
        await page.set_viewport_size(PHONE)
        await page.goto(f"{base}/q/{SESSION}?lang=sv")
        await expect(box.locator("h2")).to_have_text("Moderering")
        await expect(box.locator('[data-count="declined"]')).to_have_text("1")
        await expect(box.locator('[data-count="removed"]')).to_have_text("1")
        assert await no_horizontal_scroll(page)
    finally:
        await asker.close()
        await mod.close()
    assert page_log.problems(allow=[FAILED_RESOURCE.format(status=409)]) == []
