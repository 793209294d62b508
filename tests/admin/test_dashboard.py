"""The event-day overview: what is live, who publishes, how many watch, what needs attention."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from stream.common import times
from stream.http.keys import ROOMS
from stream.program.sessions import Session, SessionStore
from tests.auth.staff import Staff, redis_of
from tests.conftest import base_url
from tests.media import publish_loop, wait_for, watch

Login = Callable[[str], Awaitable[Staff]]


async def test_today_shows_live_sessions_publishers_and_viewers(login: Login) -> None:
    anna = await login("anna")
    server = anna.server
    store = SessionStore(redis_of(server))
    now = times.now()
    await store.save(
        Session(id="pagaende", title="Pågående pass", arranger_id="skog",
                start=now - timedelta(minutes=10), end=now + timedelta(minutes=50),
                speakers=("Moderator",))
    )  # fmt: skip
    await store.save(
        Session(id="krock", title="Samtidigt pass", arranger_id="skog",
                start=now, end=now + timedelta(minutes=30), speakers=("moderator",))
    )  # fmt: skip
    key = await store.rotate_key("pagaende")
    base = base_url(server)
    publisher, _ = await publish_loop(base, "pagaende", key)
    viewer = None
    try:
        rooms = server.app[ROOMS]
        await wait_for(lambda: rooms.get("pagaende") is not None and rooms.get("pagaende").live)
        viewer, _ = await watch(base, "pagaende")
        await wait_for(lambda: rooms.get("pagaende").viewer_count == 1, what="one viewer")

        status, html = await anna.get("/admin")
        assert status == 200
        row = html[html.index('data-session="pagaende"') :]
        row = row[: row.index("</tr>")]
        assert 'data-state="live"' in row
        assert 'data-publishing="yes"' in row
        assert re.search(r'<td [^>]*data-field="viewers">1</td>', row)
        assert "Direkt nu: 1 · tittare: 1" in html
        assert "Moderator medverkar i både ”Pågående pass”" in html
        assert "Samtidigt pass" in html, "listed under sessions without a key"

        async with anna.http.get(anna.base + "/admin/api/overview") as response:
            body = await response.json()
        assert body["sessions"]["pagaende"] == {
            "state": "live", "live": True, "publishing": True, "viewers": 1,
        }  # fmt: skip
        assert "crispr" not in body["sessions"], "another arranger's session"
    finally:
        if viewer is not None:
            await viewer.close()
        await publisher.close()


async def test_the_overview_json_needs_a_login(login: Login) -> None:
    visitor = Staff((await login("anna")).server)
    try:
        async with visitor.http.get(visitor.base + "/admin/api/overview") as response:
            assert response.status == 401
            assert response.content_type == "application/problem+json"
    finally:
        await visitor.close()
