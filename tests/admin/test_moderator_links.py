"""Moderator links and exports on a session's staff page: a link is created with a label and a
lifetime (its URL shown once, the token in the fragment), listed without its token, revoked
one by one or all at once; only the session's organiser may; exports work logged in."""

from __future__ import annotations

import html as markup
import json
import re
import time
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestServer

from stream.auth.links import LINK_ID_LENGTH, ModeratorLinks, links_key
from tests.auth.staff import Staff, redis_of

Login = Callable[[str], Awaitable[Staff]]
LINK_URL = re.compile(r'id="new-link-url"[^>]*value="([^"]+)"')
REVOKE_ACTION = re.compile(r'action="/admin/sessions/skogens-dag/links/([0-9a-f]+)/revoke"')
PAGE = "/admin/sessions/skogens-dag"


def links_of(staff: Staff) -> ModeratorLinks:
    return ModeratorLinks(redis_of(staff.server))


async def create_link(staff: Staff, label: str, lifetime: str = "24") -> str:
    await staff.get(PAGE)
    status, html, _ = await staff.post(f"{PAGE}/links", {"label": label, "lifetime": lifetime})
    assert status == 201, html
    found = LINK_URL.search(html)
    assert found, "the new link is shown"
    return markup.unescape(found.group(1))


async def test_a_link_is_shown_once_listed_without_its_token_and_revoked(login: Login) -> None:
    anna = await login("anna")
    url = await create_link(anna, "Maja <i>moderator</i>")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/moderate/skogens-dag#token=[\w-]+", url)
    token = url.split("#token=", 1)[1]
    identity = await links_of(anna).resolve("skogens-dag", token)
    assert identity is not None
    assert identity.display_name == "Maja <i>moderator</i>"

    status, html = await anna.get(PAGE)
    assert status == 200
    assert token not in html  # shown once only
    assert "Maja &lt;i&gt;moderator&lt;/i&gt;" in html  # escaped
    link_id = REVOKE_ACTION.findall(html)
    assert len(link_id) == 1
    assert len(link_id[0]) == LINK_ID_LENGTH

    status, _, location = await anna.post(f"{PAGE}/links/{link_id[0]}/revoke", {})
    assert status == 303
    assert location.startswith(f"{PAGE}?notice=link_revoked")
    assert await links_of(anna).resolve("skogens-dag", token) is None
    status, _, location = await anna.post(f"{PAGE}/links/{link_id[0]}/revoke", {})
    assert location.startswith(f"{PAGE}?notice=link_gone")


async def test_revoke_all_ends_every_link_of_the_session(login: Login) -> None:
    anna = await login("anna")
    tokens = [(await create_link(anna, name)).split("#token=")[1] for name in ("Ali", "Bo")]
    status, _, location = await anna.post(f"{PAGE}/links/revoke-all", {})
    assert status == 303
    assert "notice=links_revoked" in location
    for token in tokens:
        assert await links_of(anna).resolve("skogens-dag", token) is None
    _, html = await anna.get(location)
    assert "Alla moderatorlänkar är tillbakadragna." in html


async def test_a_link_needs_a_label_and_a_listed_lifetime(login: Login) -> None:
    anna = await login("anna")
    await anna.get(PAGE)
    status, html, _ = await anna.post(f"{PAGE}/links", {"label": " ", "lifetime": "9999"})
    assert status == 400
    assert 'id="f-label-error-1"' in html
    assert 'id="f-lifetime-error-1"' in html
    assert await links_of(anna).active("skogens-dag") == []


async def test_only_the_sessions_organiser_manages_its_links(login: Login) -> None:
    anna = await login("anna")  # arranger of skog, not of noden's crispr
    await anna.get(PAGE)
    status, html, _ = await anna.post(
        "/admin/sessions/crispr/links", {"label": "x", "lifetime": "24"}
    )
    assert status == 403
    assert "<html" in html
    mo = await login("mo")  # moderates skogens-dag, does not manage it
    await mo.get("/admin")
    status, html, _ = await mo.post(f"{PAGE}/links", {"label": "x", "lifetime": "24"})
    assert status == 403
    assert "<html" in html
    status, html, _ = await anna.post(f"{PAGE}/links", {"label": "x", "lifetime": "24"}, csrf=False)
    assert status == 403
    assert await links_of(anna).active("skogens-dag") == []


async def test_listing_drops_expired_links(world: TestServer) -> None:
    links = ModeratorLinks(redis_of(world))
    await links.grant("skogens-dag", "Kort", lifetime=1)
    await links.grant("skogens-dag", "Lång", lifetime=3600)
    redis = redis_of(world)
    record = json.dumps({"label": "Gammal", "expires": time.time() - 5})
    await redis.hset(links_key("skogens-dag"), "0" * 64, record)
    listed = await links.active("skogens-dag")
    assert [link.label for link in listed][-1] == "Lång"
    assert "Gammal" not in [link.label for link in listed]
    assert not await redis.hexists(links_key("skogens-dag"), "0" * 64)
    assert not await links.revoke_id("skogens-dag", "f" * LINK_ID_LENGTH)
    assert not await links.revoke_id("skogens-dag", "short")


async def test_exports_download_for_logged_in_staff(login: Login) -> None:
    for username in ("anna", "mo"):
        staff = await login(username)
        for path in (
            "/api/qa/skogens-dag/questions.csv",
            "/api/qa/skogens-dag/polls.csv",
            "/api/qa/skogens-dag/export.json",
            f"{PAGE}/chat.csv",
            f"{PAGE}/chat.json",
        ):
            async with staff.http.get(staff.base + path, allow_redirects=False) as response:
                assert response.status == 200, (username, path)
                assert "attachment" in response.headers["Content-Disposition"]
        async with staff.http.get(f"{staff.base}{PAGE}/chat.csv") as response:
            assert (await response.text()).startswith("id,time,name,role,text")


async def test_exports_refuse_visitors_and_other_arrangers(world: TestServer, login: Login) -> None:
    visitor = Staff(world)
    try:
        status, _ = await visitor.get(f"{PAGE}/chat.csv")
        assert status == 303  # to the login page
        status, _ = await visitor.get("/api/qa/skogens-dag/questions.csv")
        assert status in (401, 403)
    finally:
        await visitor.close()
    anna = await login("anna")
    status, html = await anna.get("/admin/sessions/crispr/chat.csv")
    assert status == 403
    assert "<html" in html
