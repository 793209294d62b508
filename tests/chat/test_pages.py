"""Pages of the chat over HTTP: the moderator console is autoescaped and CSP-protected."""

from __future__ import annotations

import re

import aiohttp
from aiohttp.test_utils import TestServer

from stream.app import create_app
from stream.config import Settings
from tests.chat.client import ChatClient
from tests.conftest import base_url, create_session

XSS_TITLE = "<script>window.__xss=1</script> Titel"


async def test_moderate_page_escapes_the_title_and_sets_csp(server: TestServer) -> None:
    await create_session(server, "page", title=XSS_TITLE)
    async with aiohttp.ClientSession() as http:
        async with http.get(base_url(server) + "/moderate/page") as response:
            assert response.status == 200
            html = await response.text()
            csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "<script>window.__xss" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt; Titel" in html
    assert 'data-chat-session="page"' in html
    assert re.search(r'<script type="module" src="/static/js/chat\.js\?v=[\w-]+"></script>', html)


async def test_moderate_page_of_unknown_session_is_404(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(base_url(server) + "/moderate/nowhere") as response:
            assert response.status == 404
        async with http.get(base_url(server) + "/moderate/Not_Valid") as response:
            assert response.status == 404  # the not-found page, as for any malformed page path


async def test_static_chat_assets_are_served(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        for path in (
            "/static/js/live.js",
            "/static/js/chat.js",
            "/static/js/moderate.js",
            "/static/js/audience.js",
            "/static/css/chat.css",
        ):
            async with http.get(base_url(server) + path) as response:
                assert response.status == 200, path


async def test_stats_count_deliveries(server: TestServer) -> None:
    await create_session(server, "stats")
    anna = await ChatClient.connect(server, "stats", name="Anna")
    bo = await ChatClient.connect(server, "stats")
    try:
        await anna.say("räkna mig")
        await bo.until(lambda: bo.texts() == ["räkna mig"])
        async with aiohttp.ClientSession() as http:
            async with http.get(base_url(server) + "/api/chat/stats") as response:
                stats = await response.json()
        assert stats["sessions"] == 1
        assert stats["sockets"] == 2
        assert stats["deliveries"] == 2
        assert sum(stats["latency_counts"]) == 2
    finally:
        await anna.close()
        await bo.close()


def test_app_registers_the_chat_routes(settings: Settings) -> None:
    app = create_app(settings)
    paths = {route.resource.canonical for route in app.router.routes() if route.resource}
    assert {"/ws/{session}", "/moderate/{session}", "/api/chat/stats"} <= paths
