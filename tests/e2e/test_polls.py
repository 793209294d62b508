"""Poll kinds in real Chromium: a moderator creates a rating poll and a word cloud in the
console, viewers answer on the watch page (by keyboard) and the phone page, the moderator
closes each and its result shows on the watch page, the phone page, the stage screen and the
transparent overlay, stays there over a reload, and goes everywhere when cleared."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page

from tests.chat.client import moderator_token
from tests.conftest import base_url, create_session
from tests.e2e.audience import DESKTOP, PHONE, no_horizontal_scroll, screenshot
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, FAILED_RESOURCE, PageLog, text

SESSION = "omrostning"
HOSTILE = "<img src=x onerror=alert(1)>"
RATING = "Hur var förmiddagen?"
CLOUD = "Ett ord om dagen?"
SCREEN = "[data-qa-polls] [data-poll-screen]"


@pytest.fixture
async def pages(browser: Browser) -> AsyncIterator[dict[str, tuple[Page, PageLog]]]:
    """One browser profile per person (each its own identity): the moderator's console, a
    viewer's watch page, a viewer's phone page, the stage screen and the overlay."""
    contexts: list[BrowserContext] = []
    opened: dict[str, tuple[Page, PageLog]] = {}
    try:
        for name, viewport in (
            ("console", DESKTOP),
            ("watch", DESKTOP),
            ("phone", PHONE),
            ("stage", DESKTOP),
            ("overlay", DESKTOP),
        ):
            context = await browser.new_context(
                locale="sv-SE", viewport=viewport, service_workers="block"
            )
            context.set_default_timeout(DEFAULT_TIMEOUT_MS)
            contexts.append(context)
            page = await context.new_page()
            log = PageLog()
            log.attach(page)
            opened[name] = (page, log)
        yield opened
    finally:
        for context in contexts:
            await context.close()
    for _, log in opened.values():
        assert not log.foreign_requests()


async def _create(console: Page, question: str, kind: str) -> str:
    """Create and open a poll in the console; its id."""
    await console.fill("#poll-question", question)
    await console.select_option("#poll-kind", kind)
    assert await console.is_hidden("[data-qa-mod-poll-options]")  # fixed options, or none
    await console.click("[data-qa-mod-poll-form] button[type=submit]")
    section = f'[data-qa-mod-polls] [data-poll-kind="{kind}"]'
    await console.wait_for_selector(f'{section} button[data-poll-action="open"]')
    pid = await console.get_attribute(section, "data-poll-id")
    assert pid
    await console.click(f'{section} button[data-poll-action="open"]')
    await console.wait_for_selector(f'{section} button[data-poll-action="close"]')
    return pid


async def test_rating_and_word_cloud_from_console_to_screens_and_cleared(
    server: TestServer, pages: dict[str, tuple[Page, PageLog]]
) -> None:
    await create_session(server, SESSION, title="Omröstningar")
    token = await moderator_token(server, SESSION, "Moa")
    base = base_url(server)
    console, watch, phone, stage, overlay = (
        pages[n][0] for n in ("console", "watch", "phone", "stage", "overlay")
    )
    await console.goto(f"{base}/moderate/{SESSION}")
    await console.fill("#mod-token", token)
    await console.click("[data-mod-login-form] button")
    await console.wait_for_selector(".chat--moderator")
    await console.click("#tab-qa")
    await console.wait_for_selector("[data-qa-mod-poll-form]")
    # Choice polls need options; a rating and a word cloud do not.
    assert await console.is_visible("[data-qa-mod-poll-options]")
    rating = await _create(console, RATING, "rating")
    cloud = await _create(console, CLOUD, "words")

    await watch.goto(f"{base}/s/{SESSION}")
    await phone.goto(f"{base}/q/{SESSION}")
    await stage.goto(f"{base}/stage/{SESSION}")
    await overlay.goto(f"{base}/stage/{SESSION}?transparent=1")

    # The watch page, by keyboard only: 4 of 5 (Space picks the first, arrows move on).
    form = "[data-qa-polls] form[data-kind=rating]"
    await watch.focus(f"{form} input[value='0']")
    await watch.keyboard.press("Space")
    for _ in range(3):
        await watch.keyboard.press("ArrowRight")
    assert await watch.is_checked(f"{form} input[value='3']")
    await watch.keyboard.press("Tab")
    await watch.keyboard.press("Enter")
    await watch.wait_for_selector(f'[data-poll-id="{rating}"] .qa__average')
    words = "[data-qa-polls] form[data-kind=words]"
    await watch.fill(f"{words} input[name=word] >> nth=0", "Kaffe")
    await watch.fill(f"{words} input[name=word] >> nth=1", HOSTILE)
    await watch.click(f"{words} button[type=submit]")
    await watch.wait_for_selector(f'[data-poll-id="{cloud}"] .qa__cloud')
    # The phone: 5 of 5 by tapping, and two words (one the same entry in other letters).
    await phone.click("[data-qa-polls] form[data-kind=rating] label:has(input[value='4'])")
    await phone.click("[data-qa-polls] form[data-kind=rating] button[type=submit]")
    await phone.fill(f"{words} input[name=word] >> nth=0", " KAFFE ")
    await phone.fill(f"{words} input[name=word] >> nth=1", "Öl")
    await phone.click(f"{words} button[type=submit]")
    await phone.wait_for_selector(f'[data-poll-id="{cloud}"] .qa__cloud')

    # Live on the stage (the newest open poll: the cloud), the hostile entry as text only.
    await stage.wait_for_selector(f'[data-stage-poll][data-poll-id="{cloud}"] [data-word="Öl"]')
    assert await stage.query_selector("[data-stage-poll] img") is None
    assert await text(stage, "[data-stage-poll] .qa__cloud") != ""

    # Closing the rating puts its result on every screen (the cloud stays open meanwhile).
    await console.click(f'[data-poll-id="{rating}"] button[data-poll-action="close"]')
    await console.wait_for_selector(f'[data-poll-id="{rating}"] button[data-poll-action="clear"]')
    for page in (watch, phone):
        await page.wait_for_selector(f'{SCREEN}[data-poll-id="{rating}"]')
        assert await page.get_attribute(f"{SCREEN} [data-poll-average]", "data-poll-average") == (
            "4.5"
        )
        assert "4,5" in await text(page, f"{SCREEN} .qa__average")
    assert await no_horizontal_scroll(phone)
    for page, name in ((watch, "poll-result-watch-desktop"), (phone, "poll-rating-phone")):
        await page.eval_on_selector(SCREEN, "(el) => el.scrollIntoView({ block: 'center' })")
        await screenshot(page, name)

    # The moderator hides the hostile entry: gone from the stage and the pages.
    hide = f'[data-poll-id="{cloud}"] button[data-poll-hide="{HOSTILE}"]'
    await console.click(hide)
    await console.wait_for_selector(hide, state="detached")
    # Closing the cloud puts it on screen instead of the rating.
    await console.click(f'[data-poll-id="{cloud}"] button[data-poll-action="close"]')
    for page in (watch, phone):
        await page.wait_for_selector(f'{SCREEN}[data-poll-id="{cloud}"]')
        assert await page.query_selector(f'[data-poll-id="{rating}"]') is None
        assert await page.query_selector(f'{SCREEN} [data-word="{HOSTILE}"]') is None
    for page in (stage, overlay):
        await page.wait_for_selector(f'[data-stage-poll][data-poll-id="{cloud}"]:visible')
        await page.wait_for_selector(f'[data-stage-poll] [data-word="{HOSTILE}"]', state="detached")
    kaffe = "[data-stage-poll] [data-word]:first-child"
    assert await text(stage, f"{kaffe} .qa__word-text") == "Kaffe"
    assert "qa__word--5" in (await stage.get_attribute(kaffe, "class") or "")
    await screenshot(stage, "poll-wordcloud-stage")
    # A reload shows it still (the state is the server's, not the page's).
    await stage.reload()
    await stage.wait_for_selector(f'[data-stage-poll][data-poll-id="{cloud}"]:visible')

    # Clear from screen: gone everywhere, live, and after a reload.
    await console.click(f'[data-poll-id="{cloud}"] button[data-poll-action="clear"]')
    for page in (watch, phone):
        await page.wait_for_selector(SCREEN, state="detached")
    await stage.wait_for_selector("[data-stage-poll]", state="hidden")
    await overlay.wait_for_selector(".stage__main", state="hidden")  # nothing drawn at all
    await watch.reload()
    await watch.wait_for_selector("[data-qa-status]", state="hidden")
    assert await watch.query_selector("[data-qa-polls] .qa__poll") is None
    await stage.reload()
    await stage.wait_for_selector("[data-stage-counts]:not(:empty)")
    assert await stage.is_hidden("[data-stage-poll]")
    for name, (_, log) in pages.items():
        # The watch page asks for a broadcast that has not started (409).
        assert log.problems(allow=[FAILED_RESOURCE.format(status=409)]) == [], name
