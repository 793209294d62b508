"""Stylesheets and ES modules in headless Chromium: every page links base.css and its own
stylesheet, loads its modules (and their imports) with versioned URLs, and logs nothing."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from aiohttp.test_utils import TestServer
from playwright.async_api import Page, Response

from stream.common.grants import Role
from tests.auth.staff import PASSWORD, make_user
from tests.conftest import base_url, create_session
from tests.e2e.conftest import FAILED_RESOURCE, PageLog, wait_for_state
from tests.media import publish_loop

IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.S)
ASSET_TAG = re.compile(r'<(?:script type="module" src|link rel="stylesheet" href)="([^"]+)"')
PARTIAL_ASSET = re.compile(r"/static/(?:css|js)/(?:chat|qa)\.")
COMPUTED = "([selector, property]) => getComputedStyle(document.querySelector(selector))[property]"


@dataclass(frozen=True)
class Check:
    """A page, a style base.css gives it and one its own stylesheet gives it."""

    path: str
    page_css: tuple[str, str, str]  # selector, computed property, expected value
    imported: str = ""  # a module only reached through an import
    import_map: bool = True


CHECKS = (
    Check("/", (".session-list", "display", "grid"), "/static/js/i18n.js"),
    Check("/s/assets", (".watch-layout", "display", "grid"), "/static/js/player/whep.js"),
    Check("/s/assets", (".player__controls", "display", "flex"), "/static/js/player/controls.js"),
    # Its route relaxes frame-ancestors (other sites may frame it) and keeps the map's hash.
    Check("/embed/assets", (".player", "overflow", "hidden"), "/static/js/player/whep.js"),
    Check("/studio/assets", (".studio", "display", "grid"), "/static/js/studio/broadcast.js"),
    Check("/studio/assets", (".meter__track", "overflow", "hidden"), "/static/js/studio/meter.js"),
    Check("/login", (".admin-narrow", "max-width", "512px")),
    Check("/admin", (".admin-bar", "display", "flex"), "/static/js/i18n.js"),
)


async def check_page(page: Page, base: str, check: Check, log: PageLog) -> None:
    start = len(log.requests)
    response = await page.goto(f"{base}{check.path}")
    assert isinstance(response, Response), check.path
    assert response.ok, check.path
    await page.wait_for_load_state("load")
    html = await response.text()
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy

    # The page's stylesheets and entry module carry their content version (the chat and Q&A
    # partials link their own assets).
    assets = [url for url in ASSET_TAG.findall(html) if not PARTIAL_ASSET.search(url)]
    assert "/static/css/base.css" in {url.split("?")[0] for url in assets}, check.path
    for url in assets:
        assert re.search(r"\?v=[\w-]+$", url), (check.path, url)

    # The import map (versioned URLs for imports too) is admitted by its hash alone.
    found = IMPORT_MAP.findall(html)
    if check.import_map:
        assert len(found) == 1, check.path
        digest = base64.b64encode(hashlib.sha256(found[0].encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    else:
        assert found == [], check.path

    if check.imported:
        await page.wait_for_function(
            "(url) => performance.getEntriesByType('resource').some((e) => e.name.includes(url))",
            arg=check.imported,
        )
        loaded = [url for url in log.requests[start:] if check.imported in url]
        assert loaded, (check.path, check.imported)
        if check.import_map:
            assert all("?v=" in url for url in loaded), loaded

    # base.css: its tokens and the skip link; the page's own stylesheet: one of its rules.
    primary = await page.evaluate(
        "() => getComputedStyle(document.documentElement).getPropertyValue('--primary').trim()"
    )
    assert primary, check.path
    if await page.locator(".skip-link").count():
        assert await page.evaluate(COMPUTED, [".skip-link", "position"]) == "absolute"
    selector, prop, expected = check.page_css
    assert await page.evaluate(COMPUTED, [selector, prop]) == expected, check.path


async def test_pages_load_their_stylesheets_and_modules(
    server: TestServer, page: Page, page_log: PageLog
) -> None:
    base = base_url(server)
    key = await create_session(server, "assets", title="Tillgångar")
    await make_user(server, "asa", Role.ADMIN)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    publisher, _ = await publish_loop(base, "assets", key)
    try:
        for check in CHECKS:
            if check.path == "/admin":  # right after /login: sign in there first
                await page.get_by_label("Användarnamn").fill("asa")
                await page.get_by_label("Lösenord").fill(PASSWORD)
                await page.get_by_role("button", name="Logga in").click()
                await page.wait_for_url(f"{base}/admin")
            await check_page(page, base, check, page_log)
            if check.path == "/s/assets":
                await wait_for_state(page, "#player", "live")

        # The studio's modules run, in the page's language.
        await page.goto(f"{base}/studio/assets?lang=en")
        whip_url = await page.text_content("#studio-whip-url")
        assert whip_url == f"{base}/whip/assets"
        await page.click("#studio-key-toggle")
        assert await page.text_content("#studio-key-toggle") == "Hide"
        await page.goto(f"{base}/studio/assets?lang=sv")
        await page.click("#studio-key-toggle")
        assert await page.text_content("#studio-key-toggle") == "Dölj"
    finally:
        await publisher.close()
    # Every asset answered; the browser's own /favicon.ico probe (the embed page names no icon)
    # is the one 404 the console may show.
    assert failed == []
    assert page_log.problems(allow=[FAILED_RESOURCE.format(status=404)]) == []
