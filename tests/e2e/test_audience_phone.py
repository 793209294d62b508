"""The audience pages on a phone (390 px, no sideways scrolling), the phone Q&A page saying
plainly whether a name is needed and when a question is public, and the transparent stage
overlay drawing nothing at all while nothing is on stage."""

from __future__ import annotations

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from tests.chat.client import moderator_token
from tests.conftest import base_url, create_session
from tests.e2e.audience import DESKTOP, PHONE, no_horizontal_scroll, screenshot
from tests.e2e.conftest import FAILED_RESOURCE, PageLog, text, wait_for_state
from tests.program.test_pages import fill
from tests.qa.client import QAClient

NAME_RULE = "Namn krävs inte: skriv ett namn eller kryssa i ”Fråga anonymt”."
PREMOD_RULE = "En moderator läser din fråga innan den visas."
OPEN_RULE = "Din fråga visas direkt för alla."


async def test_audience_pages_fit_a_phone(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    await fill(server)
    base = base_url(server)
    await page.set_viewport_size(PHONE)
    for path, name in (("/", ""), ("/s/skogens-dag", "watch"), ("/q/skogens-dag", "qa")):
        await page.goto(base + path)
        assert await no_horizontal_scroll(page), path
        if name:
            await page.wait_for_selector("[data-qa-status]", state="hidden")
            if name == "watch":
                await wait_for_state(page, "#player", "waiting")
            await screenshot(page, f"{name}-phone")
    await page.set_viewport_size(DESKTOP)
    for path, name in (("/s/skogens-dag", "watch"), ("/q/skogens-dag", "qa")):
        await page.goto(base + path)
        await page.wait_for_selector("[data-qa-status]", state="hidden")
        if name == "watch":
            await wait_for_state(page, "#player", "waiting")
        await screenshot(page, f"{name}-desktop")
    await page.set_viewport_size(PHONE)
    await page.goto(f"{base}/q/skogens-dag?lang=en")
    assert await no_horizontal_scroll(page)
    # Watch pages of sessions that have not started ask for the broadcast and get 409.
    assert page_log.problems(allow=[FAILED_RESOURCE.format(status=409)]) == []


async def test_the_phone_page_says_what_asking_means(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    await create_session(server, "salen", title="Frågor från salen")
    await page.set_viewport_size(PHONE)
    await page.goto(f"{base_url(server)}/q/salen")
    await page.wait_for_selector("[data-qa-status]", state="hidden")
    assert await text(page, "[data-qa-name-rule]") == NAME_RULE
    assert await text(page, "[data-qa-public-rule]") == PREMOD_RULE
    assert await page.get_attribute("[data-qa-ask] textarea", "aria-describedby")

    moderator = await QAClient.join(
        server, "salen", moderator_token=await moderator_token(server, "salen"), name="Moa"
    )
    try:
        reply = await moderator.qa_mod("premod", on=False)
        assert reply["type"] == "qa.ack", reply
        await page.wait_for_selector("[data-qa-public-rule]:has-text('direkt')")
        assert await text(page, "[data-qa-public-rule]") == OPEN_RULE
    finally:
        await moderator.close()

    # Once named, the page says under which name one asks.
    await page.fill("[data-qa-ask] input[name=name]", "Ada")
    await page.fill("[data-qa-ask] textarea[name=text]", "Hur låter det i salen?")
    await page.click("[data-qa-ask] button[type=submit]")
    await page.wait_for_selector("[data-qa-name-rule]:has-text('Ada')")
    assert await no_horizontal_scroll(page)
    assert page_log.problems() == []


async def test_the_transparent_overlay_is_empty_until_something_is_on_stage(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    await create_session(server, "scen", title="Scenen")
    await page.goto(f"{base_url(server)}/stage/scen?transparent=1")
    await page.wait_for_timeout(500)  # the socket has answered: still nothing on stage
    assert not await page.is_visible(".stage__main")
    assert not await page.is_visible(".stage__join"), "no QR box either"
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") in (
        "rgba(0, 0, 0, 0)",
        "transparent",
    )
    await screenshot(page, "stage-overlay-empty")

    moderator = await QAClient.join(
        server, "scen", moderator_token=await moderator_token(server, "scen"), name="Moa"
    )
    viewer = await QAClient.join(server, "scen", name="Ada")
    try:
        qid = (await viewer.ask("Vad händer sedan?"))["q"]
        assert (await moderator.qa_mod("approve", q=qid, v=1))["type"] == "qa.ack"
        assert (await moderator.qa_mod("stage", q=qid, v=2))["type"] == "qa.ack"
        await page.wait_for_selector(".stage__main", state="visible")
        assert await text(page, "[data-stage-text]") == "Vad händer sedan?"
        assert (await moderator.qa_mod("unstage"))["type"] == "qa.ack"
        await page.wait_for_selector(".stage__main", state="hidden")
    finally:
        await viewer.close()
        await moderator.close()
    assert page_log.problems() == []
