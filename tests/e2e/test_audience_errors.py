"""Errors in a browser are pages in the visitor's language (404, 403, 500); APIs and anyone
asking for JSON still get problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from stream.config import Settings
from stream.http.keys import TEMPLATES
from stream.http.middleware import error_middleware, security_headers
from stream.http.templates import make_templates
from tests.conftest import base_url
from tests.e2e.audience import screenshot
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, FAILED_RESOURCE, PageLog, text

ERROR_CONSOLE = (
    FAILED_RESOURCE.format(status=404),
    FAILED_RESOURCE.format(status=403),
    FAILED_RESOURCE.format(status=500),
)


@pytest.fixture
async def english(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(locale="en-GB")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def test_a_browser_gets_pages_in_its_language(
    server: TestServer, page: Page, page_log: PageLog, english: Page
) -> None:
    base = base_url(server)
    response = await page.goto(f"{base}/ingen-sida-alls")
    assert response is not None and response.status == 404  # noqa: PT018
    assert "text/html" in response.headers["content-type"]
    assert await text(page, "h1") == "Sidan hittades inte"
    assert await text(page, ".error-code") == "Felkod: 404"
    assert await page.get_attribute("html", "lang") == "sv"
    await screenshot(page, "error-404-desktop")

    response = await page.goto(f"{base}/static/css/")  # a folder: not listed
    assert response is not None and response.status == 403  # noqa: PT018
    assert await text(page, "h1") == "Du har inte behörighet"
    assert await page.is_visible("a[href='/login']")

    response = await english.goto(f"{base}/ingen-sida-alls")
    assert response is not None and response.status == 404  # noqa: PT018
    assert await text(english, "h1") == "Page not found"
    assert await english.get_attribute("html", "lang") == "en"
    response = await english.goto(f"{base}/static/css/")
    assert response is not None and response.status == 403  # noqa: PT018
    assert await text(english, "h1") == "You do not have access"
    assert await text(english, ".error-code") == "Error code: 403"

    # The same paths for machines, and APIs for anyone: problem+json.
    response = await page.goto(f"{base}/api/sessions/ingen-alls")
    assert response is not None and response.status == 404  # noqa: PT018
    assert response.headers["content-type"].startswith("application/problem+json")
    assert page_log.problems(allow=ERROR_CONSOLE) == []


async def test_machines_and_apis_get_problem_json(server: TestServer) -> None:
    base = base_url(server)
    async with aiohttp.ClientSession() as http:
        for path, accept in (
            ("/ingen-sida-alls", "application/json"),
            ("/ingen-sida-alls", "*/*"),
            ("/api/ingen-alls", "text/html"),
            ("/whep/ingen-alls", "text/html"),
            ("/static/css/", "application/json, text/html"),
        ):
            async with http.get(base + path, headers={"Accept": accept}) as response:
                assert response.content_type == "application/problem+json", (path, accept)
        html = {"Accept": "text/html", "Accept-Language": "en"}
        async with http.get(base + "/program.ics?day=igår", headers=html) as response:
            assert response.status == 400
            assert "That address could not be used" in await response.text()


async def _fails(request: web.Request) -> web.Response:
    raise RuntimeError("a bug")


async def test_an_unexpected_error_is_a_page_with_an_incident(
    settings: Settings, page: Page, page_log: PageLog, english: Page
) -> None:
    """A handler that fails (a bug): the visitor gets a 500 page with an incident code to
    quote, never a stack trace."""
    app = web.Application(middlewares=[error_middleware, security_headers])
    app[TEMPLATES] = make_templates(settings.web_dir)
    app.router.add_get("/trasig", _fails)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        response = await page.goto(f"{base_url(server)}/trasig")
        assert response is not None and response.status == 500  # noqa: PT018
        assert await text(page, "h1") == "Något gick fel hos oss"
        assert "Incident:" in await text(page, ".error-code")
        assert "RuntimeError" not in await page.content()
        await english.goto(f"{base_url(server)}/trasig")
        assert await text(english, "h1") == "Something went wrong on our side"
    finally:
        await server.close()
    assert page_log.problems(allow=ERROR_CONSOLE) == []
