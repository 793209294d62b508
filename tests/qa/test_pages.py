"""The Q&A pages render (phone page, stage screen with its QR code, the watch page's panel and
the console's tab), strictly CSP-clean, and every UI key they use exists in both languages."""

from __future__ import annotations

import re

import aiohttp
from aiohttp.test_utils import TestServer

from stream.config import WEB_DIR
from tests.conftest import base_url, create_session

SESSION = "qa-pages"
KEY = re.compile(r"""\bt\(\s*["']((?:qa)\.[a-z0-9_.]+)["']""")
PLURALS = ("qa.votes", "qa.askers", "qa.poll.respondents")


async def _get(server: TestServer, path: str) -> tuple[int, str, aiohttp.typedefs.LooseHeaders]:
    async with aiohttp.ClientSession() as http:
        async with http.get(base_url(server) + path) as response:
            return response.status, await response.text(), response.headers


async def test_phone_and_stage_pages(server: TestServer) -> None:
    await create_session(server, SESSION, title="Öppen <fråga>")
    status, html, _ = await _get(server, f"/q/{SESSION}")
    assert status == 200
    assert 'data-qa-source="room"' in html
    assert "Öppen &lt;fråga&gt;" in html
    status, html, _ = await _get(server, f"/stage/{SESSION}?transparent=1")
    assert status == 200
    assert "stage--transparent" in html
    assert "<svg" in html
    assert f"/q/{SESSION}" in html
    assert " style=" not in html
    assert "<script>" not in html
    status, svg, _headers = await _get(server, f"/q/{SESSION}/qr.svg")
    assert status == 200
    assert svg.startswith("<svg")
    status, html, _ = await _get(server, f"/s/{SESSION}")
    assert status == 200
    assert "data-qa-session" in html
    assert 'data-qa-source="remote"' in html
    status, html, _ = await _get(server, f"/moderate/{SESSION}")
    assert status == 200
    assert "data-qa-moderate" in html
    status, html, _ = await _get(server, f"/stage/{SESSION}?lang=en")
    assert "Next questions" in html
    for path in ("/q/nope", "/stage/nope", "/q/BAD!/qr.svg"):
        status, _, _ = await _get(server, path)
        assert status in (400, 404)


def test_every_qa_key_exists() -> None:
    import json

    catalogues = {
        lang: json.loads((WEB_DIR / "i18n" / f"{lang}.json").read_text("utf-8"))
        for lang in ("sv", "en")
    }
    files = [
        WEB_DIR / "templates" / name
        for name in ("partials/qa.html", "partials/qa_moderate.html", "qa_phone.html", "stage.html")
    ] + [WEB_DIR / "static" / "js" / n for n in ("qa.js", "qa-moderate.js", "stage.js")]
    used: set[str] = set()
    for path in files:
        text = path.read_text("utf-8")
        used |= set(KEY.findall(text))
        used |= set(re.findall(r"""\btn?\(\s*["'`](qa\.[a-z0-9_.]+)["'`]""", text))
    assert used
    for lang, texts in catalogues.items():
        missing = {
            key
            for key in used
            if key not in texts and not (key in PLURALS or f"{key}.other" in texts)
        }
        assert missing == set(), lang
