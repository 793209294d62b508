"""The programme page in Chromium: filters that work from the keyboard and show what is in
use, a star per card kept across reloads, the "my sessions" view and its calendar file."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.conftest import base_url
from tests.e2e.audience import DESKTOP, PHONE, no_horizontal_scroll, screenshot
from tests.e2e.conftest import FAILED_RESOURCE, PageLog, text
from tests.program.test_pages import fill

STAR = '.session-card[data-session="{id}"] [data-star]'
NARROW = {"width": 360, "height": 740}  # the narrowest phones in use


async def test_filters_narrow_the_programme_from_the_keyboard(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    await fill(server)
    base = base_url(server)
    await page.goto(f"{base}/")
    assert await text(page, "#later-title") == "Härnäst"
    # Each card names its arranger and its studio.
    card = '[data-group] .session-card[data-session="skogens-dag"]'
    assert await text(page, f"{card} .session-card__arranger") == "Skogstekniska klustret"
    assert await text(page, f"{card} .session-card__studio") == "Studio 1, Campus Umeå"

    await page.focus("#filter-q")
    await page.keyboard.type("skogen")
    await page.focus("#filter-studio")
    await page.keyboard.press("ArrowDown")  # a closed select changes with the arrow keys
    await page.focus("#filter-q")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/?q=skogen&**")
    assert "studio=studio-1" in page.url
    assert await text(page, ".programme-count") == "Träffar: 1"
    chips = await page.locator(".chips .chip").all_text_contents()
    assert any("Sökord: skogen" in " ".join(c.split()) for c in chips)
    assert await page.locator('[data-group] .session-card[data-session="snart"]').count() == 0

    # A chip removes its own filter and keeps the others.
    await page.click(".chip:has-text('skogen')")
    await page.wait_for_url(f"{base}/?studio=studio-1")
    assert await page.input_value("#filter-q") == ""
    assert await page.input_value("#filter-studio") == "studio-1"
    await page.click(".chip--reset")
    await page.wait_for_url(f"{base}/")
    assert await page.locator('[data-group] .session-card[data-session="snart"]').count() == 1
    assert page_log.problems() == []


async def test_my_sessions_are_starred_kept_and_exported(
    server: TestServer, page: Page, page_log: PageLog, tmp_path: Path
) -> None:
    await fill(server)
    base = base_url(server)
    await page.goto(f"{base}/")
    star = STAR.format(id="skogens-dag")
    await page.wait_for_selector(f"{star}:not([hidden])")
    assert await page.get_attribute(star, "aria-pressed") == "false"
    await page.focus(star)
    await page.keyboard.press("Enter")  # a real button: the keyboard stars too
    assert await page.get_attribute(star, "aria-pressed") == "true"
    assert await text(page, "[data-my-count]") == "(1)"

    await page.reload()
    await page.wait_for_selector(f'{star}[aria-pressed="true"]')

    await page.click("[data-my-tab]")
    await page.wait_for_url(f"{base}/?view=mine")
    assert await text(page, "#all-title") == "Mina sessioner"
    visible = page.locator("[data-group] .session-card:visible")
    assert await visible.count() == 1
    assert await visible.first.get_attribute("data-session") == "skogens-dag"
    await page.locator("#all-title").scroll_into_view_if_needed()
    await screenshot(page, "programme-mine-desktop")

    async with page.expect_download() as info:
        await page.click("[data-my-ics]")
    download = await info.value
    saved = tmp_path / "mine.ics"
    await download.save_as(saved)
    calendar = saved.read_text("utf-8")
    assert calendar.count("BEGIN:VEVENT") == 1
    assert "SUMMARY:Skogens dag" in calendar
    assert "Snart på campus" not in calendar

    # Un-starring in "my sessions" empties the list and says how to fill it.
    await page.click(star)
    assert await visible.count() == 0
    assert await page.is_visible("[data-my-empty]")
    assert page_log.problems() == []


async def test_the_programme_fits_a_phone_and_a_desktop(
    server: TestServer, context: BrowserContext, page: Page, page_log: PageLog
) -> None:
    await fill(server)
    base = base_url(server)
    await page.set_viewport_size(DESKTOP)
    await page.goto(f"{base}/")
    await screenshot(page, "programme-desktop")
    await page.set_viewport_size(PHONE)
    await page.goto(f"{base}/")
    assert await no_horizontal_scroll(page)
    await screenshot(page, "programme-phone")
    await page.goto(f"{base}/?view=mine")
    assert await no_horizontal_scroll(page)
    await screenshot(page, "programme-mine-phone")
    await page.goto(f"{base}/?view=mine&lang=en")
    assert await no_horizontal_scroll(page)
    assert page_log.problems() == []


async def test_one_time_format_per_language_in_the_events_zone(
    server: TestServer, page: Page, page_log: PageLog, browser: Browser
) -> None:
    """Swedish: the 24-hour clock. English: the browser's own locale (12-hour in the US),
    both in Stockholm time, the zone named beside each time."""
    await fill(server)
    base = base_url(server)
    time = '[data-group] .session-card[data-session="skogens-dag"] time'
    zone = '[data-group] .session-card[data-session="skogens-dag"] .zone'
    await page.goto(f"{base}/")
    assert await text(page, time) == "10:00\u201311:30"
    assert await text(page, zone) == "CET"  # 21 January: winter time
    await page.goto(f"{base}/s/skogens-dag")
    assert await text(page, ".session-facts time") == "tisdag 21 januari 2031 10:00\u201311:30"

    context = await browser.new_context(locale="en-US", timezone_id="America/New_York")
    try:
        american = await context.new_page()
        await american.goto(f"{base}/?lang=en")
        await american.wait_for_selector(f"{time}:has-text('AM')")
        shown = await text(american, time)
        assert shown.replace("\u202f", " ").replace("\u2009", " ") in (
            "10:00 \u2013 11:30 AM",
            "10:00 AM \u2013 11:30 AM",
        ), "Stockholm's 10:00, not New York's"
        assert await text(american, zone) == "CET"
        await american.goto(f"{base}/s/skogens-dag?lang=en")
        await american.wait_for_selector(".session-facts time:has-text('January')")
        facts = (await text(american, ".session-facts time")).replace("\u202f", " ")
        assert facts.startswith("Tuesday, January 21, 2031"), facts
        assert "10:00" in facts and "AM" in facts  # noqa: PT018
    finally:
        await context.close()
    # The player asks for a broadcast that has not started: 409 until it does.
    assert page_log.problems(allow=[FAILED_RESOURCE.format(status=409)]) == []


async def test_on_a_phone_the_filters_fold_behind_a_toggle(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    await fill(server)
    base = base_url(server)
    toggle = page.locator("[data-filters-toggle]")
    fields = page.locator("#filters-fields")
    await page.set_viewport_size(DESKTOP)
    await page.goto(f"{base}/")
    await expect(toggle).to_be_hidden()  # a desktop has room for the bar
    await expect(fields).to_be_visible()

    await page.set_viewport_size(NARROW)
    await page.goto(f"{base}/")
    await expect(toggle).to_be_visible()
    await expect(toggle).to_have_text("Filter")
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await expect(toggle).to_have_attribute("aria-controls", "filters-fields")
    await expect(fields).to_be_hidden()
    assert await no_horizontal_scroll(page)

    await toggle.focus()
    await page.keyboard.press("Enter")
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await expect(fields).to_be_visible()
    await expect(page.locator("#filter-q")).to_be_focused()  # straight on to the search
    assert await no_horizontal_scroll(page)
    await page.keyboard.type("skogen")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/?q=skogen**")
    # Filters in use stay in sight (the chips) and the button counts them.
    await expect(fields).to_be_hidden()
    await expect(toggle).to_have_text("Filter (1)")
    await expect(page.locator(".chips .chip").first).to_be_visible()
    await toggle.focus()
    await page.keyboard.press("Space")
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await page.keyboard.press("Shift+Tab")  # from the search field back to the button
    await expect(toggle).to_be_focused()
    await page.keyboard.press("Space")
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await expect(fields).to_be_hidden()
    assert await no_horizontal_scroll(page)
    assert page_log.problems() == []
