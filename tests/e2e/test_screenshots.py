"""Every page at desktop and at phone width, for ``docs/screenshots/`` (the README links them):
the pages not pictured by the other browser tests. Each must fit a phone without sideways
scrolling."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from tests.chat.client import moderator_token
from tests.conftest import base_url, create_session
from tests.e2e.audience import DESKTOP, PHONE, no_horizontal_scroll, screenshot
from tests.e2e.conftest import FAILED_RESOURCE, PageLog
from tests.qa.client import QAClient

SESSION = "bilder"


async def test_login_register_stage_and_error_pages_at_both_widths(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    await create_session(server, SESSION, title="Skogens framtid")
    mod = await QAClient.join(
        server, SESSION, moderator_token=await moderator_token(server, SESSION), name="Moa"
    )
    asker = await QAClient.join(server, SESSION, name="Ada")
    try:
        await mod.qa_mod("premod", on=False)
        asked = await asker.ask("Hur mäter ni skogens tillväxt med drönare?")
        assert (await mod.qa_mod("stage", q=asked["q"], v=1))["type"] == "qa.ack"
    finally:
        await asker.close()
        await mod.close()

    pages = {
        "login": ("/login", "#f-username"),
        "register": ("/register", "main form"),
        "stage": (f"/stage/{SESSION}", "[data-stage-text]"),
        "error-404": ("/ingen-sida-alls", ".error-code"),
    }
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(viewport)
        for name, (path, ready) in pages.items():
            await page.goto(base + path)
            await expect(page.locator(ready).first).to_be_visible()
            if name == "stage":
                await expect(page.locator("[data-stage-text]")).to_contain_text("drönare")
            assert await no_horizontal_scroll(page), f"{path} scrolls sideways at {viewport}"
            await screenshot(page, f"{name}-{width}")
    assert page_log.problems(allow=[FAILED_RESOURCE.format(status=404)]) == []
