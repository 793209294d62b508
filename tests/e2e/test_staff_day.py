"""The event day for staff, in headless Chromium against the real app: every task of the day
from ``/admin`` in at most three clicks, a moderator link from creation to revocation, the
exports as downloads, the studio's audience and changeover, who is logged in, and the staff
pages on a phone (no sideways scrolling) and the moderation queue on a tablet. Screenshots of
the staff pages at desktop and phone width go to ``docs/screenshots/``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, expect

from stream.auth.links import ModeratorLinks
from stream.common import times
from stream.common.grants import Role
from stream.program.keys import REHEARSAL_WINDOW
from stream.program.sessions import Session, SessionStore
from stream.program.studios import Studio, StudioStore
from tests.auth.staff import PASSWORD, cheap_passwords, make_arranger, make_user, redis_of
from tests.conftest import base_url
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS
from tests.media import publish_loop
from tests.qa.client import QAClient

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MAX_CLICKS = 3
PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1280, "height": 860}
QUESTION = "Hur mäter ni skogens tillväxt med drönare?"
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


@dataclass(frozen=True)
class Day:
    server: TestServer
    base: str
    start: datetime  # of "skogens-dag", in the studio now
    end: datetime  # of "skogens-dag"
    next_start: datetime  # of "energi", next in the same studio


def slot_today(now: datetime) -> tuple[datetime, datetime]:
    """A slot on now, within today (local time): from a few minutes ago for half an hour, or
    until the day ends when that is sooner (the dashboard shows today's sessions)."""
    local = times.local(now).replace(second=0, microsecond=0)
    start = max(local - timedelta(minutes=5), local.replace(hour=0, minute=0))
    end = min(start + timedelta(minutes=30), local.replace(hour=23, minute=59, second=59))
    return start, end


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield


@pytest.fixture
async def day(server: TestServer) -> Day:
    redis = redis_of(server)
    await make_arranger(server, "skog", "Skogstekniska klustret")
    await make_arranger(server, "noden", "Kunskapsnoden")
    await StudioStore(redis).save(Studio("studio-1", "Studio 1", "Campus Umeå"))
    start, end = slot_today(times.now())
    next_start = start + timedelta(hours=1)
    sessions = SessionStore(redis)
    await sessions.save(
        Session(
            id="skogens-dag",
            title="Skogens dag",
            arranger_id="skog",
            studio="studio-1",
            start=start,
            end=end,
        )
    )
    await sessions.save(
        Session(
            id="energi",
            title="Energidagen",
            arranger_id="noden",
            studio="studio-1",
            start=next_start,
            end=next_start + timedelta(minutes=45),
        )
    )
    await sessions.save(
        Session(
            id="arbetsgrupp",
            title="Arbetsgrupp: skogsdata",
            arranger_id="skog",
            visibility="invite",
            start=start,
            end=end,
        )
    )
    await make_user(server, "anna", Role.ARRANGER, arranger="skog")
    return Day(server, base_url(server), start, end, next_start)


async def log_in(page: Page, base: str, username: str = "anna", next_path: str = "") -> None:
    await page.goto(f"{base}/login{'?next=' + next_path if next_path else ''}")
    await fill_login(page, username)


async def fill_login(page: Page, username: str = "anna") -> None:
    await page.fill("#f-username", username)
    await page.fill("#f-password", PASSWORD)
    await page.click("main form button[type=submit]")
    await page.wait_for_load_state()


@pytest.fixture
async def staff(context: BrowserContext, day: Day) -> Page:
    page = await context.new_page()
    await log_in(page, day.base)
    await expect(page).to_have_url(re.compile(r"/admin$"))
    return page


@pytest.fixture
async def fresh(browser: Browser) -> AsyncIterator[BrowserContext]:
    """Another browser: no cookies, no storage."""
    context = await browser.new_context(locale="sv-SE", viewport=DESKTOP)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield context
    finally:
        await context.close()


class Clicks:
    """Counts the clicks a task takes from /admin."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0

    async def click(self, selector: str) -> None:
        self.count += 1
        await self.page.click(selector)


ROW = 'tr[data-session="skogens-dag"]'


async def test_every_task_of_the_day_is_at_most_three_clicks_from_admin(
    staff: Page, day: Day
) -> None:
    async def from_admin() -> Clicks:
        await staff.goto(f"{day.base}/admin")
        return Clicks(staff)

    # Go live: the studio.
    clicks = await from_admin()
    await clicks.click(f"{ROW} [data-task=studio]")
    await expect(staff).to_have_url(f"{day.base}/studio/skogens-dag")
    await expect(staff.locator("#studio-go-live")).to_be_visible()
    assert clicks.count <= MAX_CLICKS

    # Moderate: the console opens as a moderator (logged in, no token asked).
    clicks = await from_admin()
    await clicks.click(f"{ROW} [data-task=moderate]")
    await expect(staff).to_have_url(f"{day.base}/moderate/skogens-dag")
    await expect(staff.locator("[data-mod-settings]")).to_be_visible()
    await expect(staff.locator("[data-mod-login]")).to_be_hidden()
    assert clicks.count <= MAX_CLICKS

    # The stage screen.
    clicks = await from_admin()
    await clicks.click(f"{ROW} [data-task=stage]")
    await expect(staff).to_have_url(f"{day.base}/stage/skogens-dag")
    assert clicks.count <= MAX_CLICKS

    # Export: the questions as a file.
    clicks = await from_admin()
    await clicks.click(f'{ROW} a[href="/admin/sessions/skogens-dag"]')
    async with staff.expect_download() as download:
        await clicks.click('[data-export="questions.csv"]')
    assert (await download.value).suggested_filename == "skogens-dag-questions.csv"
    assert clicks.count <= MAX_CLICKS

    # Invitation link of an invite-only session.
    clicks = await from_admin()
    await clicks.click('a[href="/admin/sessions/arbetsgrupp"]')
    await expect(staff.locator("#invite-link")).to_have_value(re.compile(r"/s/arbetsgrupp\?"))
    await clicks.click('[data-copy="invite-link"]')
    assert clicks.count <= MAX_CLICKS

    # Key rotation: a new key, shown once.
    clicks = await from_admin()
    await clicks.click(f'{ROW} a[href="/admin/sessions/skogens-dag"]')
    await clicks.click('form[action="/admin/sessions/skogens-dag/key"] button[type=submit]')
    await expect(staff.locator("#publish-key")).to_have_value(re.compile(r"\S{20,}"))
    assert clicks.count <= MAX_CLICKS

    # A moderator link (typing its name is not a click).
    clicks = await from_admin()
    await clicks.click(f'{ROW} a[href="/admin/sessions/skogens-dag"]')
    await staff.fill("#f-label", "Maja")
    await clicks.click("form.link-form button[type=submit]")
    await expect(staff.locator("#new-link-url")).to_have_value(re.compile("#token="))
    assert clicks.count <= MAX_CLICKS


async def test_a_moderator_link_moderates_until_it_is_revoked(
    staff: Page, fresh: BrowserContext, browser: Browser, day: Day
) -> None:
    await staff.goto(f"{day.base}/admin/sessions/skogens-dag")
    await staff.fill("#f-label", "Maja Moderator")
    await staff.select_option("#f-lifetime", "4")
    await staff.click("form.link-form button[type=submit]")
    url = await staff.locator("#new-link-url").input_value()
    assert url.startswith(f"{day.base}/moderate/skogens-dag#token=")

    moderator = await fresh.new_page()
    requests: list[str] = []
    moderator.on("request", lambda request: requests.append(request.url))
    await moderator.goto(url)
    await expect(moderator.locator("[data-mod-settings]")).to_be_visible()
    await expect(moderator.locator("[data-mod-login]")).to_be_hidden()
    await expect(moderator.locator("[data-staff-login-note]")).to_be_hidden()
    assert "#token" not in moderator.url  # the fragment is dropped from the address bar
    assert not [r for r in requests if "token" in r]  # and never sent
    # The header says who moderates, and as what; logging out forgets the link's key.
    who = moderator.locator("[data-link-user]")
    await expect(who).to_have_text(re.compile(r"Maja Moderator · moderator \(länk\)"))
    await who.locator("[data-link-logout]").click()
    await expect(moderator.locator("[data-mod-login]")).to_be_visible()
    await expect(who).to_be_hidden()
    await expect(moderator.locator("[data-mod-login-error]")).to_be_hidden()
    await moderator.goto(url)  # the link again (a new page load, not a jump in this one)
    await moderator.reload()
    await expect(who).to_be_visible()

    # The link is listed (name, expiry) and revoked from the staff page.
    await staff.goto(f"{day.base}/admin/sessions/skogens-dag")
    item = staff.locator(".link-list__item", has_text="Maja Moderator")
    await expect(item).to_contain_text("gäller till")
    await item.locator("button[type=submit]").click()
    await expect(staff.locator(".notice")).to_contain_text("tillbakadragen")
    await expect(staff.locator("[data-links-empty]")).to_be_visible()

    # Refused now, in the same tab (reloaded) and in another browser.
    await moderator.reload()
    await expect(moderator.locator("[data-mod-login]")).to_be_visible()
    await expect(moderator.locator("[data-mod-settings]")).to_be_hidden()
    other = await browser.new_context(locale="sv-SE")
    try:
        page = await other.new_page()
        await page.goto(url)
        await expect(page.locator("[data-mod-login-error]")).to_be_visible()
        await expect(page.locator("[data-mod-settings]")).to_be_hidden()
        # A logged-out visitor is offered the staff login, which leads back here.
        await page.click("[data-staff-login]")
        await expect(page).to_have_url(re.compile(r"/login\?next=/moderate/skogens-dag$"))
        await fill_login(page)
        await expect(page).to_have_url(f"{day.base}/moderate/skogens-dag")
        await expect(page.locator("[data-mod-settings]")).to_be_visible()
    finally:
        await other.close()


async def test_exports_download_from_the_staff_page(staff: Page, day: Day) -> None:
    await staff.goto(f"{day.base}/admin/sessions/skogens-dag")
    for what in ("questions.csv", "polls.csv", "export.json", "chat.csv", "chat.json"):
        async with staff.expect_download() as download:
            await staff.click(f'[data-export="{what}"]')
        done = await download.value
        assert done.suggested_filename == f"skogens-dag-{what}"
        path = await done.path()
        assert path is not None
        body = Path(path).read_text(encoding="utf-8")
        if what == "chat.csv":
            assert body.startswith("id,time,name,role,text")
        elif what.endswith(".json"):
            assert body.startswith("{")


async def test_the_studio_shows_its_audience_and_the_changeover(staff: Page, day: Day) -> None:
    redis = redis_of(day.server)
    token = await ModeratorLinks(redis).grant("skogens-dag", "Moa")
    mod = await QAClient.join(day.server, "skogens-dag", moderator_token=token, name="Moa")
    viewer = await QAClient.join(day.server, "skogens-dag", name="Ada")
    try:
        await mod.qa_mod("premod", on=False)
        asked = await viewer.ask(QUESTION)
        assert asked["type"] == "qa.ack", asked
    finally:
        await viewer.close()
        await mod.close()

    await staff.goto(f"{day.base}/studio/skogens-dag")
    panel = staff.locator("#studio-audience")
    await expect(panel.locator("#studio-questions li")).to_have_count(1)
    await expect(panel.locator("#studio-questions li")).to_contain_text(QUESTION)
    await expect(panel.locator("#studio-viewers")).to_have_text("Inte live: ingen tittar än.")
    opens = times.format_clock(day.next_start - REHEARSAL_WINDOW)
    next_slot = panel.locator('[data-changeover="next"]')
    await expect(next_slot).to_contain_text("Energidagen")
    await expect(next_slot).to_contain_text(times.format_clock(day.next_start))
    await expect(next_slot).to_contain_text(f"nyckel fungerar från {opens}")
    await expect(panel.locator('[data-changeover="key"]')).to_contain_text(
        times.format_clock(day.start - REHEARSAL_WINDOW)
    )

    # The next slot's arranger sees when the studio is free.
    await staff.goto(f"{day.base}/studio/energi")
    free = staff.locator('[data-changeover="free"]')
    await expect(free).to_contain_text(times.format_clock(day.end))
    await expect(free).to_contain_text("Skogens dag")

    # Live: the viewer count comes over the session's socket.
    key = await SessionStore(redis).rotate_key("skogens-dag")
    await staff.goto(f"{day.base}/studio/skogens-dag")
    client, _ = await publish_loop(day.base, "skogens-dag", key, audio=False)
    try:
        viewers = staff.locator("#studio-viewers")
        await expect(viewers).to_have_attribute("data-state", "live", timeout=20_000)
        await expect(viewers).to_have_text("0 tittar just nu")
    finally:
        await client.close()


async def test_the_header_shows_who_is_logged_in_and_logs_out(staff: Page, day: Day) -> None:
    pages = (
        "/admin",
        "/admin/sessions/skogens-dag",
        "/studio/skogens-dag",
        "/moderate/skogens-dag",
        "/q/skogens-dag",
        "/stage/skogens-dag",
    )
    for path in pages:
        await staff.goto(day.base + path)
        who = staff.locator(".site-user")
        await expect(who).to_contain_text("Inloggad som Anna (Arrangör)")
        await expect(who.locator('form[action="/logout"][method=post] button')).to_be_visible()
        token = who.locator('form[action="/logout"] input[name=csrf_token]')
        assert await token.get_attribute("value"), f"{path}: log out carries its CSRF token"
    # The stage screen faces the audience: who is logged in is not on show there, until the
    # pointer or the keyboard reaches it.
    header = staff.locator(".stage__user")
    await expect(header).to_have_css("opacity", "0")
    await staff.locator("body").focus()
    for _ in range(5):  # bounded: the header's links come first in the tab order
        await staff.keyboard.press("Tab")
        if await header.evaluate("element => element.matches(':focus-within')"):
            break
    await expect(header).to_have_css("opacity", "1")
    await staff.keyboard.press("Escape")
    await staff.locator(".stage__main").click(position={"x": 5, "y": 300})
    await expect(header).to_have_css("opacity", "0")
    await header.hover()
    await expect(header).to_have_css("opacity", "1")
    await staff.goto(f"{day.base}/stage/skogens-dag?transparent=1")
    await expect(staff.locator(".site-user")).to_have_count(0)  # nothing on the OBS overlay
    await staff.goto(f"{day.base}/admin?lang=en")
    await expect(staff.locator(".site-user")).to_contain_text("Signed in as Anna (Arranger)")
    await staff.locator(".site-user button[type=submit]").focus()
    await staff.keyboard.press("Enter")  # log out from the keyboard
    await staff.wait_for_load_state()
    await expect(staff.locator(".site-user")).to_have_count(0)
    await staff.goto(f"{day.base}/admin")
    await expect(staff).to_have_url(re.compile(r"/login\?next=/admin$"))


async def test_staff_pages_fit_a_phone_and_moderation_a_tablet(browser: Browser, day: Day) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = {
        "admin": "/admin",
        "sessions": "/admin/sessions",
        "session": "/admin/sessions/skogens-dag",
        "studio": "/studio/skogens-dag",
        "moderate": "/moderate/skogens-dag",
    }
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE), ("tablet", TABLET)):
        context = await browser.new_context(locale="sv-SE", viewport=viewport)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        try:
            page = await context.new_page()
            await log_in(page, day.base)
            for name, path in pages.items():
                if width == "tablet" and name != "moderate":
                    continue
                await page.goto(day.base + path)
                await page.wait_for_load_state("networkidle")
                assert await page.evaluate(FITS), f"{path} scrolls sideways at {viewport}"
                if width != "tablet":
                    await page.screenshot(path=str(SCREENSHOTS / f"staff-{name}-{width}.png"))
            if width == "tablet":
                # The question queue: its tab opens and the panel fits.
                await page.click("#tab-qa")
                await expect(page.locator("#tab-qa")).to_have_attribute("aria-selected", "true")
                assert await page.evaluate(FITS)
        finally:
            await context.close()
    total = sum(path.stat().st_size for path in SCREENSHOTS.glob("*.png"))
    assert total < 3 * 1024 * 1024
