"""The follow-up in headless Chromium: an arranger logs in, finds the ended session's follow-up
on /admin and on the session's page, and sees the viewer chart (with its table), the questions
and the polls, at desktop and at phone width (no sideways scrolling). Screenshots go to
``docs/screenshots/followup-*.png``."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from stream.analytics.curve import CurveWriter, NodeSample
from stream.common import times
from stream.common.grants import Role
from stream.http.keys import REDIS
from stream.program.sessions import Session, SessionStore
from tests.admin.followup_data import HOSTILE_Q, SESSION, fill_session
from tests.admin.followup_data import relaxed_chat_limits as relaxed_chat_limits  # autouse
from tests.auth.staff import cheap_passwords, make_arranger, make_user, redis_of
from tests.conftest import base_url
from tests.e2e.conftest import PageLog
from tests.e2e.test_staff_day import DESKTOP, FITS, PHONE, SCREENSHOTS, log_in

SAMPLES = 90  # a quarter of an hour at 10 s


@pytest.fixture(autouse=True)
def fast_password_hashing() -> Iterator[None]:
    with cheap_passwords():
        yield


async def ended_session(server: TestServer) -> None:
    """SESSION ended a minute ago, today; with questions, a poll, chat and a viewer curve."""
    await make_arranger(server, "skog", "Skogstekniska klustret")
    now = times.local(times.now()).replace(microsecond=0)
    start = max(now - timedelta(minutes=20), now.replace(hour=0, minute=0, second=0))
    end = max(start + timedelta(seconds=1), now - timedelta(minutes=1))
    await SessionStore(redis_of(server)).save(
        Session(id=SESSION, title="Skogens dag", arranger_id="skog", start=start, end=end)
    )
    await make_user(server, "anna", Role.ARRANGER, arranger="skog")
    await fill_session(server, chat_messages=6, curve=False)
    writer = CurveWriter(server.app[REDIS], "node-a")
    first = start.timestamp() + 5
    for n in range(SAMPLES):
        watching = round(40 * math.sin(math.pi * n / SAMPLES) ** 0.6) + (n % 7)
        tags = frozenset(f"v{n}-{k}" for k in range(3))
        sample = NodeSample(SESSION, watching, watching + 3 + n % 4, tags)
        await writer.write([sample], first + 10 * n)


async def test_an_arranger_opens_the_followup_from_the_session_page(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    await ended_session(server)
    dialogs: list[str] = []  # an alert() from stored text would be a script that ran
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await page.set_viewport_size(DESKTOP)
    await log_in(page, base)
    await expect(page).to_have_url(f"{base}/admin")
    # /admin names the ended session's follow-up.
    await expect(page.locator(f'tr[data-session="{SESSION}"] [data-task=followup]')).to_be_visible()
    await page.goto(f"{base}/admin/sessions/{SESSION}")
    await page.click("[data-task=followup]")
    await expect(page).to_have_url(f"{base}/admin/sessions/{SESSION}/followup")
    chart = page.locator("svg[data-chart]")
    await expect(chart).to_be_visible()
    box = await chart.bounding_box()
    assert box is not None
    assert box["height"] > 100
    assert await page.locator("svg[data-chart] polyline").count() >= 2
    await expect(page.locator("#chart-desc")).to_contain_text("Linjediagram")
    await expect(page.locator('[data-group="answered"]')).to_contain_text("Vad kostar det?")
    await expect(page.locator('[data-group="unanswered"]')).to_contain_text(HOSTILE_Q)
    await expect(page.locator("[data-poll] [data-count]").first).to_have_text("2")
    await expect(page.locator("[data-chat] li")).to_have_count(6)
    # Times as on every page: the clock in the event's zone, the zone named.
    zone = r"CES?T"
    message_time = page.locator("[data-chat] li").first
    await expect(message_time.locator("time[data-clock]")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    await expect(message_time.locator("abbr.zone")).to_have_text(re.compile(f"^{zone}$"))
    await expect(page.locator(".viewer-table tbody th").first).to_have_text(
        re.compile(rf"^\d\d:\d\d(:\d\d)?\u2013\d\d:\d\d(:\d\d)? {zone}$")
    )
    await expect(page.locator("svg[data-chart] text").last).to_have_text(
        re.compile(rf"\d\d:\d\d(:\d\d)? {zone}$")
    )
    # The table beside the chart opens from the keyboard.
    await page.focus(".viewer-table summary")
    await page.keyboard.press("Enter")
    await expect(page.locator(".viewer-table tbody tr").first).to_be_visible()
    await page.keyboard.press("Enter")  # closed again for the screenshot
    assert dialogs == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "followup-desktop.png"), full_page=True)

    await page.set_viewport_size(PHONE)
    await page.reload()
    await expect(page.locator("svg[data-chart]")).to_be_visible()
    assert await page.evaluate(FITS), "the follow-up scrolls sideways on a phone"
    await page.screenshot(path=str(SCREENSHOTS / "followup-phone.png"), full_page=True)
    assert page_log.problems() == []
