"""Keyboard use, landmarks, labels, and a clean console under the strict CSP."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestServer
from playwright.async_api import Page

from tests.conftest import base_url, create_session
from tests.e2e.conftest import PageLog, text, wait_for_state
from tests.media import publish_loop

# Visible interactive elements without an accessible name (a simple approximation of the
# accessible-name computation: text, aria-label, aria-labelledby, or a <label>).
UNNAMED_CONTROLS = """() => {
  const visible = (el) =>
    el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const named = (el) => {
    if (el.getAttribute("aria-label")) return true;
    const ids = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    if (ids.some((id) => (document.getElementById(id)?.textContent || "").trim())) return true;
    if (el.labels && [...el.labels].some((label) => label.textContent.trim())) return true;
    return ["BUTTON", "A", "SUMMARY"].includes(el.tagName) && el.textContent.trim() !== "";
  };
  return [...document.querySelectorAll("a[href], button, input, select, textarea, summary")]
    .filter(visible)
    .filter((el) => !named(el))
    .map((el) => el.outerHTML.slice(0, 120));
}"""

ACTIVE = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {
    id: el.id,
    cls: el.className && el.className.baseVal === undefined ? el.className : "",
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
  };
}"""


async def test_keyboard_reaches_and_works_the_player(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, "kbd")
    publisher, _ = await publish_loop(base, "kbd", key)
    try:
        await page.goto(f"{base}/s/kbd")
        await wait_for_state(page, "#player", "live")

        # The first Tab lands on the skip link, which takes the focus to the main content.
        await page.keyboard.press("Tab")
        first = await page.evaluate(ACTIVE)
        assert first["cls"] == "skip-link"
        assert first["outline"], "a focused control shows a focus ring"
        assert await page.is_visible(".skip-link")
        await page.keyboard.press("Enter")
        assert await page.evaluate("() => document.activeElement.id") == "main"

        # Tabbing on from there reaches every player control, each with a visible focus ring.
        wanted = ["player-unmute", "player-play", "player-mute", "player-volume"]
        wanted.append("player-fullscreen")
        reached: list[str] = []
        for _ in range(40):
            await page.keyboard.press("Tab")
            active = await page.evaluate(ACTIVE)
            if active["id"] in wanted:
                assert active["outline"], f"{active['id']} shows no focus ring"
                reached.append(active["id"])
            if active["id"] == wanted[-1]:
                break
        assert reached == wanted

        # The big unmute button works from the keyboard and hands the focus on.
        await page.focus("#player-unmute")
        await page.keyboard.press("Enter")
        assert await page.evaluate("() => document.querySelector('video').muted") is False
        await page.wait_for_selector("#player-unmute", state="hidden")
        assert await page.evaluate("() => document.activeElement.id") == "player-mute"
        assert await text(page, "#player-mute [data-label]") == "Stäng av ljudet"

        # Shortcuts: m mutes and unmutes, k pauses and plays, f toggles full screen.
        await page.focus("#main")
        await page.keyboard.press("m")
        assert await page.evaluate("() => document.querySelector('video').muted") is True
        await page.wait_for_selector('#player[data-muted="true"]')  # volumechange is async
        await page.keyboard.press("m")
        assert await page.evaluate("() => document.querySelector('video').muted") is False
        await page.wait_for_selector('#player[data-muted="false"]')
        await page.keyboard.press("k")
        await page.wait_for_selector('#player[data-paused="true"]')
        assert await text(page, "#player-play [data-label]") == "Spela upp"
        await page.keyboard.press("k")
        await page.wait_for_selector('#player[data-paused="false"]')
        await page.keyboard.press("f")
        await page.wait_for_selector('#player[data-fullscreen="true"]')
        assert await text(page, "#player-fullscreen [data-label]") == "Avsluta helskärm"
        await page.keyboard.press("f")
        await page.wait_for_selector('#player[data-fullscreen="false"]')

        # The volume slider follows the arrow keys and says its value.
        await page.focus("#player-volume")
        before = await page.evaluate("() => document.querySelector('video').volume")
        await page.keyboard.press("ArrowLeft")
        after = await page.evaluate("() => document.querySelector('video').volume")
        assert after < before
        valuetext = await page.get_attribute("#player-volume", "aria-valuetext")
        assert re.fullmatch(r"\d+ %", valuetext or ""), valuetext
    finally:
        await publisher.close()
    assert page_log.problems() == []


async def test_pages_have_landmarks_labels_and_a_quiet_console(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, "a11y", title="Tillgänglighet i praktiken")
    publisher, _ = await publish_loop(base, "a11y", key)
    try:
        for path in ("/", "/s/a11y", "/studio/a11y"):
            response = await page.goto(f"{base}{path}")
            assert response is not None, path
            assert response.ok, path
            policy = response.headers.get("content-security-policy", "")
            assert "script-src 'self'" in policy
            assert "style-src 'self'" in policy
            html = await response.text()
            assert " style=" not in html, f"{path}: inline style attribute (CSP forbids it)"
            # Scripts come from files; inline blocks are data (JSON, the import map admitted by
            # its hash), never code.
            for script in re.findall(r"<script\b[^>]*>", html):
                data = 'type="application/json"' in script or 'type="importmap"' in script
                assert " src=" in script or data, (path, script)

            assert await page.locator("header.site-header").count() == 1, path
            assert await page.locator("main#main").count() == 1, path
            assert await page.locator("footer.site-footer").count() == 1, path
            assert await page.locator("nav[aria-label]").count() >= 2, path
            assert await page.locator("h1").count() == 1, path
            assert await page.get_attribute(".skip-link", "href") == "#main"
            assert await page.evaluate(UNNAMED_CONTROLS) == [], path

            if path == "/":
                await page.wait_for_selector('.session-card[data-live="true"]')
                assert await page.is_visible(".session-card [data-live-badge]")
            elif path.startswith("/s/"):
                await wait_for_state(page, "#player", "live")
            else:
                # With permission already given (fake UI) the preview may have started by
                # itself; a click then changes nothing (the camera is only asked for once).
                await page.evaluate("() => document.getElementById('studio-camera-on').click()")
                await page.wait_for_selector("#studio-placeholder", state="hidden")
                await page.wait_for_selector("#studio-camera:not([disabled])")
    finally:
        await publisher.close()
    assert page_log.problems() == []
